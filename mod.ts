/**
 * Spackle: Spack binary build caches from Deno and TypeScript, without Spack.
 *
 * This entry point is the front door: open a build cache with {@link openMirror} (or a mirror
 * named in Spack's configuration with {@link openConfiguredMirror}), an install tree with
 * {@link openStore}; push with {@link pushSpecs}; install (download, verify, extract, relocate)
 * with {@link installSpecs}; copy between caches with {@link copySpecs}; make a runnable image
 * with {@link composeImage}; stream one verified blob with {@link fetchBlob}. The building blocks
 * are sub-path exports named by concern: `@spackle/spackle/mirror`, `/storage`, `/buildcache`,
 * `/spec`, `/store`, `/tar`, `/relocate`, `/signing`, `/config`, `/registry`, `/oci`, `/image`,
 * `/stream`.
 *
 * @example
 * ```ts
 * import { installSpecs, openMirror, selectSpecs } from "@spackle/spackle";
 * const mirror = await openMirror("./buildcache");
 * const specs = selectSpecs(await mirror.listSpecs(), ["zlib-ng"], mirror.url);
 * const { installed } = await installSpecs(mirror, specs, {
 *   root: "/opt/sw",
 *   checkSignature: false,
 *   onProgress: (event) => event.kind === "spec" && console.log(event.state, event.spec),
 * });
 * console.log([...installed.values()]);
 * ```
 *
 * @module
 */
export * from "./lib/errors.ts";
export type {
  BytesEvent,
  MessageEvent,
  ProgressEvent,
  ProgressListener,
  SpecEvent,
} from "./lib/events.ts";
export type { RetryEvent } from "./lib/net/retry.ts";

export { fetchBlob, type FetchBlobOptions } from "./lib/mirror/fetch_blob.ts";
export { openMirror, type OpenMirrorOptions } from "./lib/mirror/open.ts";
export type {
  CacheEntry,
  Mirror,
  PushedTarball,
  PushReceipt,
  TarballRef,
} from "./lib/mirror/types.ts";
export {
  type ConfiguredMirror,
  type ConfiguredMirrorOptions,
  loadMirrorsConfig,
  type LoadMirrorsOptions,
  MirrorConfigError,
  MirrorCredentialsError,
  MirrorError,
  type MirrorsConfig,
  openConfiguredMirror,
  type ResolvedMirror,
} from "./lib/config/mod.ts";

export {
  type InstalledSpec,
  openStore,
  type OpenStoreOptions,
  type Store,
} from "./lib/store/mod.ts";
export type { ConcreteSpec, SpecNode } from "./lib/spec/spec.ts";
export { selectSpecs } from "./lib/spec/select.ts";

export { PushError, type PushOptions, type PushResult, pushSpecs } from "./lib/push/push.ts";
export { type InstallOptions, type InstallResult, installSpecs } from "./lib/install/install.ts";
export { CopyError, type CopyOptions, type CopyResult, copySpecs } from "./lib/copy/mod.ts";
export {
  composeImage,
  type ComposeOptions,
  type ComposeResult,
  imageTarget,
  PlatformMismatchError,
  TooManyLayersError,
} from "./lib/image/mod.ts";
export type { ImageLocation } from "./lib/oci/open.ts";
export { relocate } from "./lib/relocate/mod.ts";
export { type Environment, openEnvironment, type OpenEnvironmentOptions } from "./lib/env/mod.ts";
export { buildView, type BuildViewOptions, type ViewResult } from "./lib/view/mod.ts";

export {
  loadSigningKey,
  loadTrustedKeys,
  SignatureError,
  type Signer,
  type SigningKeyOptions,
  trustCacheKeys,
  type TrustedKey,
} from "./lib/signing/mod.ts";
export { RegistryAuthError, RegistryError } from "./lib/registry/errors.ts";
export { StorageRequestError } from "./lib/storage/http.ts";

// Types the front door signatures mention, so its documentation is complete on its own; the
// functions and classes that go with them live in the sub-path modules.
export type {
  AccessPair,
  ConfigScope,
  EnvSource,
  MirrorConnection,
  MirrorDescriptor,
  S3Settings,
} from "./lib/config/mod.ts";
export type {
  EnvironmentView,
  IncludedEnvironment,
  InstallTreeConfig,
  LockedEnvironment,
  LockedRoot,
  Lockfile,
} from "./lib/env/mod.ts";
export type { ComposedPlatform, ImagePlatform } from "./lib/image/mod.ts";
export type { OciMirrorOptions, UpdateIndexOptions, UrlMirrorOptions } from "./lib/mirror/mod.ts";
export type {
  CredentialProvider,
  Credentials,
  ImageReference,
  OciMirrorLocation,
  RegistryClientOptions,
} from "./lib/registry/mod.ts";
export type { SignatureProblem } from "./lib/signing/mod.ts";
export type { DepType, SpecArch, SpecEdge, SpecHolder } from "./lib/spec/mod.ts";
export type {
  HttpAuthorization,
  HttpStoreOptions,
  ObjectStore,
  RemoteStoreOptions,
  S3StoreOptions,
  VersionedObject,
} from "./lib/storage/mod.ts";
export type { InstallDatabase, InstallRecord } from "./lib/store/mod.ts";
export type {
  PlanViewOptions,
  ResolvedPath,
  ViewLink,
  ViewLinkType,
  ViewSelection,
  ViewTree,
  ViewTreeEntry,
} from "./lib/view/mod.ts";
