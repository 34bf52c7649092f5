// Where an S3 store connects and as whom: the endpoint, the region and the credentials, found as
// boto3 (and so Spack) finds them, limited to static keys (no SSO, roles, credential_process or
// instance metadata).

import { join } from "node:path";
import { FormatError, UsageError } from "../errors.ts";
import type { S3StoreOptions } from "./s3.ts";

/** Static AWS credentials and where they were found. */
export interface AwsCredentials {
  /** Access key ID. */
  readonly accessKeyId: string;
  /** Secret access key. */
  readonly secretAccessKey: string;
  /** Session token of temporary credentials. */
  readonly sessionToken?: string;
  /** `options`, `environment`, or `profile NAME` (for messages; never a secret). */
  readonly source: string;
}

/** The connection an S3 store uses. */
export interface AwsSettings {
  /** Signing region (and the AWS endpoint's region). */
  readonly region: string;
  /** A custom S3-compatible endpoint (path-style addressing), or `undefined` for AWS. */
  readonly endpoint?: URL;
  /** Credentials, or `undefined` for anonymous (unsigned) requests. */
  readonly credentials?: AwsCredentials;
}

type Env = Readonly<Record<string, string | undefined>>;
type Ini = Map<string, Map<string, string>>;

/**
 * Resolves the connection of an S3 store from its options and the environment `options.env`
 * (default: the process environment).
 *
 * - Endpoint: `endpointUrl`, else `S3_ENDPOINT_URL` (as Spack), `AWS_ENDPOINT_URL_S3`,
 *   `AWS_ENDPOINT_URL`; a bare host gets `https://`.
 * - Credentials: `accessKeyId` + `secretAccessKey` (+ `sessionToken`); else, when `profile` is
 *   given, that profile only (as boto3 with an explicit profile); else `AWS_ACCESS_KEY_ID` +
 *   `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`); else the profile `AWS_PROFILE` or
 *   `default`. A profile is read from the credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
 *   `~/.aws/credentials`, section `[NAME]`), then the config file (`AWS_CONFIG_FILE`, else
 *   `~/.aws/config`, section `[profile NAME]` or `[default]`). None: anonymous.
 * - Region: `region`, else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region` in the
 *   config file, else `us-east-1`.
 *
 * @throws {UsageError} for half a key pair, a named profile that does not exist or holds no
 *   static keys, or a malformed endpoint URL.
 * @throws {FormatError} for an unreadable credentials or config file.
 */
export async function resolveAwsSettings(options: S3StoreOptions): Promise<AwsSettings> {
  // Empty variables count as unset, as in boto3.
  const env: Env = Object.fromEntries(
    Object.entries(options.env ?? Deno.env.toObject()).filter(([, v]) => v),
  );
  const explicitProfile = options.profile || undefined;
  const profile = explicitProfile ?? env.AWS_PROFILE ?? "default";
  const home = env.HOME ?? env.USERPROFILE ?? "";
  const credentialsFile = expandHome(
    env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials"),
    home,
  );
  const configFile = expandHome(env.AWS_CONFIG_FILE ?? join(home, ".aws", "config"), home);
  const credentialsIni = await readIni(credentialsFile);
  const configIni = await readIni(configFile);
  const configSection = configIni.get(profile === "default" ? "default" : `profile ${profile}`);

  let credentials: AwsCredentials | undefined;
  if (options.accessKeyId !== undefined || options.secretAccessKey !== undefined) {
    credentials = pair(
      options.accessKeyId,
      options.secretAccessKey,
      options.sessionToken,
      "options",
    );
  } else if (explicitProfile === undefined && env.AWS_ACCESS_KEY_ID !== undefined) {
    credentials = pair(
      env.AWS_ACCESS_KEY_ID,
      env.AWS_SECRET_ACCESS_KEY,
      env.AWS_SESSION_TOKEN,
      "environment",
    );
  } else {
    const sections = [credentialsIni.get(profile), configSection].filter((s) => s !== undefined);
    const named = explicitProfile !== undefined || env.AWS_PROFILE !== undefined;
    if (named && sections.length === 0) {
      throw new UsageError(
        `AWS profile ${JSON.stringify(profile)} not found in ${credentialsFile} or ${configFile}`,
      );
    }
    const keys = sections.find((s) => s.has("aws_access_key_id") || s.has("aws_secret_access_key"));
    if (keys) {
      credentials = pair(
        keys.get("aws_access_key_id"),
        keys.get("aws_secret_access_key"),
        keys.get("aws_session_token") ?? keys.get("aws_security_token"),
        `profile ${profile}`,
      );
    } else if (named) {
      throw new UsageError(
        `AWS profile ${JSON.stringify(profile)} has no aws_access_key_id/aws_secret_access_key ` +
          "(SSO, role and process credentials are not supported)",
      );
    }
  }

  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ??
    configSection?.get("region") ?? "us-east-1";
  const endpointText = options.endpointUrl ?? env.S3_ENDPOINT_URL ?? env.AWS_ENDPOINT_URL_S3 ??
    env.AWS_ENDPOINT_URL;
  return {
    region,
    endpoint: endpointText ? parseEndpoint(endpointText) : undefined,
    credentials,
  };
}

function pair(
  accessKeyId: string | undefined,
  secretAccessKey: string | undefined,
  sessionToken: string | undefined,
  source: string,
): AwsCredentials {
  if (!accessKeyId || !secretAccessKey) {
    throw new UsageError(
      `S3 credentials from ${source} need both an access key ID and a secret access key`,
    );
  }
  return sessionToken
    ? { accessKeyId, secretAccessKey, sessionToken, source }
    : { accessKeyId, secretAccessKey, source };
}

/** An S3-compatible endpoint as a URL; a bare `host[:port]` means HTTPS (as Spack). */
function parseEndpoint(text: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`not a valid S3 endpoint URL: ${JSON.stringify(text)}`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.username) {
    throw new UsageError(
      `an S3 endpoint URL is http(s)://host[:port][/path] without credentials or query: ${url.protocol}//${url.host}`,
    );
  }
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
}

function expandHome(path: string, home: string): string {
  return path === "~" || path.startsWith("~/") ? home + path.slice(1) : path;
}

async function readIni(path: string): Promise<Ini> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return new Map();
    throw new FormatError(path, `cannot read: ${(err as Error).message}`);
  }
  return parseIni(text);
}

/**
 * The sections of an AWS config or credentials file: `[name]` headers, `key = value` lines,
 * `#`/`;` comment lines. Indented lines under a key without a value (nested settings such as
 * `s3 =`) are skipped; a key outside any section is ignored.
 */
export function parseIni(text: string): Ini {
  const sections: Ini = new Map();
  let current: Map<string, string> | undefined;
  let nested = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (nested && /^\s/.test(raw)) continue;
    nested = false;
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      const name = header[1].replace(/\s+/g, " ");
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || !current) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (value === "") nested = true;
    else current.set(key, value);
  }
  return sections;
}

/** Where a bucket's objects and listings are. */
export interface BucketUrls {
  /** Base URL of the bucket, ending in `/`: object keys are appended to it. */
  readonly bucketUrl: string;
  /** The URL ListObjectsV2 is sent to (path-style: the bucket without a trailing slash). */
  readonly listUrl: string;
}

/**
 * The URLs of `bucket`: path-style under a custom endpoint (as boto3 with `endpoint_url`, which
 * MinIO and most S3-compatible servers need), else AWS virtual-host style
 * `https://BUCKET.s3.REGION.amazonaws.com/`, or path style on AWS for bucket names with dots
 * (they do not match the virtual hosts' wildcard certificate).
 */
export function bucketUrls(bucket: string, settings: AwsSettings): BucketUrls {
  const encoded = encodeURIComponent(bucket);
  let root: string;
  if (settings.endpoint) {
    root = `${settings.endpoint.href.replace(/\/+$/, "")}/${encoded}`;
  } else if (bucket.includes(".")) {
    root = `https://s3.${settings.region}.amazonaws.com/${encoded}`;
  } else {
    const virtualHost = `https://${bucket}.s3.${settings.region}.amazonaws.com/`;
    return { bucketUrl: virtualHost, listUrl: virtualHost };
  }
  return { bucketUrl: `${root}/`, listUrl: root };
}
