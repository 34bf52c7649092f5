/**
 * From a mirror name (or URL) to what a transport needs: the URL for one direction, whether it
 * is signed, and credentials read from the environment variables the configuration names.
 *
 * Source: Spack build cache format reference §5.1 (credentials), §4.11 (OCI credentials by
 * registry host), §7 (`spack buildcache push` mirror argument).
 *
 * @module
 */
import type { CredentialProvider, Credentials } from "../registry/credentials.ts";
import { isOciUrl, parseOciMirrorUrl } from "../registry/reference.ts";
import { definedOnly } from "./defined.ts";
import { type EnvLookup, envLookup } from "./env_lookup.ts";
import { isMirrorUrl } from "./paths.ts";
import { MirrorCredentialsError, MirrorError } from "./errors.ts";
import type {
  AccessPair,
  EnvSource,
  MirrorConnection,
  MirrorDescriptor,
  MirrorDirection,
  MirrorsConfig,
} from "./types.ts";

/** S3 connection settings of a mirror direction (reference §5.1). */
export interface S3Settings {
  /** Access key id: `access_pair.id` or the value of `access_pair.id_variable`. */
  readonly accessKeyId?: string;
  /** Secret access key: the value of `access_pair.secret_variable`. */
  readonly secretAccessKey?: string;
  /** Session token: the value of `access_token_variable`. */
  readonly sessionToken?: string;
  /** S3-compatible endpoint (`endpoint_url`). */
  readonly endpointUrl?: string;
  /** AWS profile name (`profile`). */
  readonly profile?: string;
}

/** A mirror resolved for one direction. */
export interface ResolvedMirror {
  /** The configured name; absent for a URL or path given directly. */
  readonly name?: string;
  /** URL to open: canonical for configured mirrors, unchanged for a URL or path given directly. */
  readonly url: string;
  /** Whether the mirror is signed (Spack: `signed`, default true; never for OCI). */
  readonly signed: boolean;
  /** Index view (`view`), if configured. */
  readonly view?: string;
  /** Registry user name and password from `access_pair`, for `oci://` and `oci+http://` URLs. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** S3 settings, for `s3://` URLs. */
  readonly s3?: S3Settings;
}

/** Spack's rule for a mirror argument: with `/` or `\`, or `.`/`..`, it is a path or URL. */
function looksLikeLocation(value: string): boolean {
  return /[/\\]/.test(value) || value === "." || value === ".." || isMirrorUrl(value);
}

/**
 * Resolves `nameOrUrl` for `direction`: a configured mirror name gives that direction's URL,
 * signing and credentials; a URL or path that is not a configured name is passed through
 * unchanged (an anonymous mirror, signed unless OCI). Secrets come only from the environment
 * variables the configuration names; credentials are read only for the transports that use them
 * (`access_pair` for OCI and S3, `access_token_variable` for S3).
 *
 * @throws {MirrorError} `MIRROR_NOT_FOUND` for a bare word that is no configured mirror,
 *   `MIRROR_NO_URL` when the mirror has no URL for `direction`.
 * @throws {MirrorCredentialsError} when a named variable is unset or empty; the message names the
 *   variable, never a value.
 * @example
 * ```ts
 * import { loadMirrorsConfig, resolveMirror } from "@spackle/spackle/config";
 * const config = await loadMirrorsConfig({ envFile: "./spack.yaml" });
 * const target = resolveMirror("my-registry", config, "push");
 * console.log(target.url, target.credentials?.username);
 * ```
 */
export function resolveMirror(
  nameOrUrl: string,
  config: MirrorsConfig,
  direction: MirrorDirection,
  env?: EnvSource,
): ResolvedMirror {
  const mirror = config.mirrors.find((m) => m.name === nameOrUrl);
  if (!mirror) {
    if (looksLikeLocation(nameOrUrl)) return { url: nameOrUrl, signed: !isOciUrl(nameOrUrl) };
    throw new MirrorError(
      "MIRROR_NOT_FOUND",
      nameOrUrl,
      `no mirror named "${nameOrUrl}". Did you mean ./${nameOrUrl}?`,
    );
  }
  const conn = mirror[direction];
  const url = requireUrl(mirror, direction);
  const lookup = envLookup(env);
  const need = (variable: string, role: string): string => {
    const value = lookup(variable);
    if (!value) throw new MirrorCredentialsError(mirror.name, direction, variable, role);
    return value;
  };
  const pair = (p: AccessPair) => ({
    id: p.idVariable !== undefined ? need(p.idVariable, "id_variable") : p.id ?? "",
    secret: need(p.secretVariable, "secret_variable"),
  });

  let credentials: ResolvedMirror["credentials"];
  let s3: S3Settings | undefined;
  if (isOciUrl(url) && conn.accessPair) {
    const { id, secret } = pair(conn.accessPair);
    credentials = { username: id, password: secret };
  } else if (url.startsWith("s3://")) {
    const keys = conn.accessPair ? pair(conn.accessPair) : undefined;
    s3 = definedOnly({
      accessKeyId: keys?.id,
      secretAccessKey: keys?.secret,
      sessionToken: conn.accessTokenVariable === undefined
        ? undefined
        : need(conn.accessTokenVariable, "access_token_variable"),
      endpointUrl: conn.endpointUrl,
      profile: conn.profile,
    });
  }
  return definedOnly({
    name: mirror.name,
    url,
    signed: mirror.signed,
    view: conn.view,
    credentials,
    s3,
  });
}

function requireUrl(mirror: MirrorDescriptor, direction: MirrorDirection): string {
  const url = mirror[direction].url;
  if (url === undefined) {
    throw new MirrorError(
      "MIRROR_NO_URL",
      mirror.name,
      `Mirror ${mirror.name} has no URL configured for ${direction}`,
    );
  }
  return url;
}

function pairFromEnv(pair: AccessPair, lookup: EnvLookup): Credentials | undefined {
  const username = pair.idVariable !== undefined ? lookup(pair.idVariable) : pair.id;
  const password = lookup(pair.secretVariable);
  return username && password ? { username, password } : undefined;
}

/**
 * Registry credentials from the mirror configuration, as Spack's OCI opener finds them: over all
 * configured mirrors, push then fetch connection, the first `access_pair` whose URL is an OCI URL
 * on the requested registry host (`host[:port]`) and whose variables are both set and non-empty.
 * Otherwise anonymous (`undefined`). Pairs with unset variables are skipped, as Spack does.
 *
 * @example
 * ```ts
 * import { loadMirrorsConfig, mirrorCredentialProvider } from "@spackle/spackle/config";
 * const provider = mirrorCredentialProvider(await loadMirrorsConfig());
 * const creds = await provider("ghcr.io");
 * ```
 */
export function mirrorCredentialProvider(
  config: MirrorsConfig,
  env?: EnvSource,
): CredentialProvider {
  const lookup = envLookup(env);
  return (registry) => {
    for (const mirror of config.mirrors) {
      for (const conn of [mirror.push, mirror.fetch] as MirrorConnection[]) {
        if (!conn.accessPair || !conn.url || !isOciUrl(conn.url)) continue;
        let domain: string;
        try {
          domain = parseOciMirrorUrl(conn.url).reference.domain;
        } catch {
          continue;
        }
        if (domain !== registry) continue;
        const found = pairFromEnv(conn.accessPair, lookup);
        if (found) return Promise.resolve(found);
      }
    }
    return Promise.resolve(undefined);
  };
}
