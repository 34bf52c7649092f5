/**
 * Where registry credentials come from: an explicit user name and password, or the Docker /
 * Podman config files (`auths`, `credHelpers`, `credsStore`) and their credential helpers.
 *
 * Sources: Docker CLI config file (`config.json`) and docker-credential-helpers protocol;
 * containers-auth.json(5) for `$REGISTRY_AUTH_FILE`.
 *
 * @module
 */

import { join } from "node:path";
import { FormatError } from "../errors.ts";
import { RegistryAuthError } from "./errors.ts";

/**
 * Credentials for one registry: a user name and password (or access token used as password),
 * or an OAuth2 `identityToken` (Docker's refresh token, sent to the token realm only).
 */
export interface Credentials {
  /** User name for Basic auth or the token realm. */
  readonly username?: string;
  /** Password or personal access token. */
  readonly password?: string;
  /** OAuth2 refresh token (Docker `identitytoken`), exchanged at the Bearer realm. */
  readonly identityToken?: string;
}

/**
 * Looks up credentials for a registry host (`host[:port]`, Docker Hub as `index.docker.io`);
 * resolves to `undefined` for anonymous access.
 */
export type CredentialProvider = (registry: string) => Promise<Credentials | undefined>;

/** Where {@linkcode dockerConfigCredentials} looks; defaults come from the process environment. */
export interface DockerConfigOptions {
  /** Environment to read `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `HOME` and `PATH` from. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

// Docker keeps Docker Hub credentials under this legacy key.
const DOCKER_HUB_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB_HOSTS = new Set(["index.docker.io", "docker.io", "registry-1.docker.io"]);

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/**
 * A provider that reads Docker-style config files, first match wins:
 * `$REGISTRY_AUTH_FILE`, then `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json` when
 * `DOCKER_CONFIG` is unset). Within a file: `credHelpers[host]`, then `credsStore`, then
 * `auths[host]` (`auth` = base64 `user:password`, or `username`/`password`, or `identitytoken`).
 * Helpers run as `docker-credential-<name> get` with the server URL on stdin.
 *
 * @throws {FormatError} (from the provider) when a config file is not valid JSON; the file's
 *   content is never quoted.
 * @throws {RegistryAuthError} (from the provider) when a credential helper fails.
 * @example
 * ```ts
 * const creds = await dockerConfigCredentials()("ghcr.io");
 * ```
 */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialProvider {
  return async (registry) => {
    const env = options.env ?? Deno.env.toObject();
    for (const path of configPaths(env)) {
      const config = await readConfig(path);
      if (!config) continue;
      const found = await lookUp(config, registry, env);
      if (found) return found;
    }
    return undefined;
  };
}

function configPaths(env: Readonly<Record<string, string | undefined>>): string[] {
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.DOCKER_CONFIG) paths.push(join(env.DOCKER_CONFIG, "config.json"));
  else if (env.HOME) paths.push(join(env.HOME, ".docker", "config.json"));
  return paths;
}

async function readConfig(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {
    // JSON.parse messages quote the text, which may hold secrets: report without them.
  }
  throw new FormatError(path, "not a JSON object");
}

/** `host[:port]` of a config key, which may be a bare host or a URL such as `https://host/v1/`. */
function keyHost(key: string): string {
  const host = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
  return DOCKER_HUB_HOSTS.has(host) ? "index.docker.io" : host;
}

async function lookUp(
  config: ConfigFile,
  registry: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Credentials | undefined> {
  const host = keyHost(registry);
  const serverUrl = host === "index.docker.io" ? DOCKER_HUB_KEY : host;
  const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => keyHost(key) === host);
  if (helper) return await runHelper(helper[1], serverUrl, registry, env);
  if (config.credsStore) {
    const stored = await runHelper(config.credsStore, serverUrl, registry, env);
    if (stored) return stored;
  }
  const entry = Object.entries(config.auths ?? {}).find(([key]) => keyHost(key) === host)?.[1];
  return entry ? fromAuthEntry(entry) : undefined;
}

function fromAuthEntry(entry: AuthEntry): Credentials | undefined {
  if (entry.identitytoken) return { username: entry.username, identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = new TextDecoder().decode(
      Uint8Array.from(atob(entry.auth), (c) => c.charCodeAt(0)),
    );
    const colon = decoded.indexOf(":");
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password) {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

async function runHelper(
  name: string,
  serverUrl: string,
  registry: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(program, {
      args: ["get"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: Object.fromEntries(
        Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
      ),
      clearEnv: true,
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(serverUrl));
    await writer.close();
    output = await child.output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new RegistryAuthError(registry, `credential helper ${program} is not on PATH`);
    }
    throw err;
  }
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    // Helpers say this on stdout or stderr when they hold nothing for the server.
    const said = stdout + new TextDecoder().decode(output.stderr);
    if (/credentials not found/i.test(said)) return undefined;
    throw new RegistryAuthError(
      registry,
      `credential helper ${program} failed (exit ${output.code})`,
    );
  }
  let reply: { Username?: unknown; Secret?: unknown };
  try {
    reply = JSON.parse(stdout);
  } catch {
    throw new RegistryAuthError(registry, `credential helper ${program} printed invalid JSON`);
  }
  const { Username: username, Secret: secret } = reply;
  if (typeof secret !== "string" || secret === "") return undefined;
  // Docker's convention: the user name `<token>` marks an identity (refresh) token.
  if (username === "<token>") return { identityToken: secret };
  return { username: typeof username === "string" ? username : undefined, password: secret };
}
