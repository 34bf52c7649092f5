/**
 * Shapes of Spack's mirror configuration once loaded: one {@link MirrorDescriptor} per configured
 * mirror, with the fetch and push connections Spack would use.
 *
 * Source: Spack build cache format reference §5.1 (`lib/spack/spack/mirrors/mirror.py`).
 *
 * @module
 */

/** Which side of a mirror an operation uses: reading from it or writing to it. */
export type MirrorDirection = "fetch" | "push";

/**
 * Where environment variables are read from: a plain object (tests, scripts) or anything with a
 * `get(name)` method such as `Deno.env`.
 */
export type EnvSource =
  | Readonly<Record<string, string | undefined>>
  | { get(name: string): string | undefined };

/**
 * An `access_pair` as Spack 1.2 stores it: the user name (or S3 access key id) given literally as
 * `id` or through the environment variable `idVariable`, and the secret always through an
 * environment variable. Exactly one of `id` and `idVariable` is set.
 */
export interface AccessPair {
  /** Literal user name or access key id (`id`). */
  readonly id?: string;
  /** Environment variable holding the user name or access key id (`id_variable`). */
  readonly idVariable?: string;
  /** Environment variable holding the password, token or secret access key (`secret_variable`). */
  readonly secretVariable: string;
}

/**
 * One direction (fetch or push) of a mirror, with Spack's precedence applied: a value in the
 * `fetch`/`push` block wins over the mirror's top-level value.
 */
export interface MirrorConnection {
  /**
   * Canonical URL: URLs with a scheme Spack knows are kept as written; paths are expanded and
   * made absolute against the directory of the file that holds them, then turned into `file://`
   * URLs. Absent when neither the direction nor the mirror names a URL (Spack: "Mirror X has no
   * URL configured").
   */
  readonly url?: string;
  /** Index view name (`view`). */
  readonly view?: string;
  /** Credentials by environment variable name (`access_pair`). */
  readonly accessPair?: AccessPair;
  /** Environment variable with an S3 session token (`access_token_variable`); unused for OCI. */
  readonly accessTokenVariable?: string;
  /** S3-compatible endpoint (`endpoint_url`). */
  readonly endpointUrl?: string;
  /** AWS profile name (`profile`). */
  readonly profile?: string;
}

/** A configured mirror after merging all configuration scopes (Spack reference §5.1, §5.2). */
export interface MirrorDescriptor {
  /** Mirror name (the key under `mirrors:`). */
  readonly name: string;
  /** Connection used to read from the mirror. */
  readonly fetch: MirrorConnection;
  /** Connection used to write to the mirror. */
  readonly push: MirrorConnection;
  /**
   * Whether specs pushed here are signed and specs read from here must verify: `signed`,
   * default `true`, always `false` when the fetch URL is an OCI registry.
   */
  readonly signed: boolean;
  /** Holds binary packages (`binary`, default `true`). */
  readonly binary: boolean;
  /** Holds source archives (`source`, default `true`). */
  readonly source: boolean;
  /** Installed specs are pushed here automatically (`autopush`, default `false`). */
  readonly autopush: boolean;
  /** The highest-precedence configuration file that defines this mirror. */
  readonly file: string;
}

/** One configuration file that was consulted, lowest precedence first in {@link MirrorsConfig}. */
export interface ConfigScope {
  /** Scope name as Spack calls it (`site`, `user`, `env`), or the file path for extra files. */
  readonly name: string;
  /** Path of the YAML file (`mirrors.yaml`, or an environment's `spack.yaml`). */
  readonly file: string;
  /** Whether the file existed when it was read. */
  readonly exists: boolean;
}

/** Spack's merged mirror configuration. */
export interface MirrorsConfig {
  /** Mirrors in Spack's order: higher-precedence scopes first, each scope in file order. */
  readonly mirrors: readonly MirrorDescriptor[];
  /** The files consulted, lowest precedence first. */
  readonly scopes: readonly ConfigScope[];
}
