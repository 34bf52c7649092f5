/**
 * `openConfiguredMirror`: a mirror name from Spack's configuration, or a URL, opened with the
 * credentials the configuration names, so a name works wherever a URL does.
 *
 * @module
 */
import { openMirror, type OpenMirrorOptions } from "../mirror/open.ts";
import type { Mirror } from "../mirror/types.ts";
import { type CredentialProvider, dockerConfigCredentials } from "../registry/credentials.ts";
import { loadMirrorsConfig, spackScopes } from "./load.ts";
import { mirrorCredentialProvider, type ResolvedMirror, resolveMirror } from "./resolve.ts";
import type { EnvSource, MirrorsConfig } from "./types.ts";

/** Options of {@link openConfiguredMirror}: those of `openMirror`, plus where names come from. */
export interface ConfiguredMirrorOptions extends OpenMirrorOptions {
  /** Which URL and credentials of the mirror to use. Default `fetch`. */
  direction?: "fetch" | "push";
  /** The configuration to resolve names in. Default: the scopes Spack reads ({@link spackScopes}). */
  config?: MirrorsConfig;
  /** Environment the secrets' variables are read from. Default: the process environment. */
  env?: EnvSource;
}

/** A mirror opened from a name or URL, and what its configuration said about it. */
export interface ConfiguredMirror {
  /** The opened mirror. */
  mirror: Mirror;
  /** The resolved URL, `signed` setting and credentials (never logged). */
  resolved: ResolvedMirror;
}

/**
 * Opens `nameOrUrl`: a mirror configured in Spack's `mirrors:` scopes (its URL for `direction`,
 * its `access_pair` for registries, its S3 endpoint, profile and keys), else a URL or path as
 * `openMirror` takes it. Registries without a configured pair fall back to the mirrors'
 * registry-wide credentials and then to Docker's config files and credential helpers.
 *
 * @example
 * ```ts
 * import { openConfiguredMirror } from "@spackle/spackle";
 * const { mirror } = await openConfiguredMirror("my-cache", { direction: "push" });
 * console.log(mirror.url);
 * ```
 *
 * @throws {MirrorConfigError} for a configuration file Spack would reject.
 * @throws {MirrorError} for a bare word that names no configured mirror.
 * @throws {MirrorCredentialsError} when a variable the configuration names is unset.
 */
export async function openConfiguredMirror(
  nameOrUrl: string,
  options: ConfiguredMirrorOptions = {},
): Promise<ConfiguredMirror> {
  const { direction = "fetch", env, config: given, ...open } = options;
  const config = given ?? await loadMirrorsConfig(spackScopes(env));
  const resolved = resolveMirror(nameOrUrl, config, direction, env);
  const fromMirrors = mirrorCredentialProvider(config, env);
  const fromDocker = dockerConfigCredentials();
  const fallback: CredentialProvider = async (registry) =>
    await fromMirrors(registry) ?? await fromDocker(registry);
  const mirror = await openMirror(resolved.url, {
    ...open,
    registry: { credentials: resolved.credentials ?? fallback, ...open.registry },
    s3: { ...resolved.s3, ...open.s3 },
  });
  return { mirror, resolved };
}
