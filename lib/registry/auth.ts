/**
 * Registry authentication: `WWW-Authenticate` challenge parsing (RFC 7235) and the login that
 * answers a challenge — the Bearer token flow (Docker token spec, OAuth2 refresh tokens) or Basic.
 *
 * Source: Spack build cache format reference §4.11; distribution token authentication spec.
 *
 * @module
 */

import type { CredentialProvider, Credentials } from "./credentials.ts";
import { RegistryAuthError } from "./errors.ts";
import { redactUrl } from "../net/http.ts";

/** One challenge of a `WWW-Authenticate` header: lower-case `scheme`, lower-case parameter keys. */
export interface Challenge {
  /** Auth scheme, lower case (`bearer`, `basic`). */
  readonly scheme: string;
  /** Parameters (`realm`, `service`, `scope`, …) with lower-case keys and unquoted values. */
  readonly params: Readonly<Record<string, string>>;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses a `WWW-Authenticate` value: a comma-separated list of challenges, each a scheme followed
 * by `key=token` or `key="quoted string"` parameters (RFC 7235 §4.1). Token68 forms, empty list
 * elements, trailing commas and spaces are rejected, as Spack does.
 *
 * @throws {RegistryAuthError} "malformed WWW-Authenticate header" naming `registry` and the
 *   character position (never the header text).
 * @example
 * ```ts
 * parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="reg"', "reg");
 * // [{ scheme: "bearer", params: { realm: "https://auth.example/token", service: "reg" } }]
 * ```
 */
export function parseWwwAuthenticate(header: string, registry: string): Challenge[] {
  let i = 0;
  const fail = (): never => {
    throw new RegistryAuthError(registry, `malformed WWW-Authenticate header (at character ${i})`);
  };
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i])) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < header.length && TCHAR.test(header[i])) i++;
    if (i === start) fail();
    return header.slice(start, i);
  };
  const quoted = (): string => {
    let out = "";
    for (i++; i < header.length; i++) {
      if (header[i] === '"') {
        i++;
        return out;
      }
      if (header[i] === "\\") i++;
      if (i < header.length) out += header[i];
    }
    return fail();
  };
  // After a comma: is the next element a parameter (`key =`) rather than a new challenge?
  const paramAhead = (): boolean => {
    const save = i;
    while (i < header.length && TCHAR.test(header[i])) i++;
    skip(/[ \t]/);
    const isParam = i > save && header[i] === "=";
    i = save;
    return isParam;
  };

  const challenges: Challenge[] = [];
  while (true) {
    const scheme = token().toLowerCase();
    const params: Record<string, string> = {};
    challenges.push({ scheme, params });
    if (i === header.length) return challenges;
    if (header[i] !== ",") {
      if (header[i] !== " ") fail();
      skip(/ /);
      while (true) {
        const key = token().toLowerCase();
        skip(/[ \t]/);
        if (header[i] !== "=") fail();
        i++;
        skip(/[ \t]/);
        params[key] = header[i] === '"' ? quoted() : token();
        skip(/[ \t]/);
        if (i === header.length) return challenges;
        if (header[i] !== ",") fail();
        i++;
        skip(/[ \t]/);
        if (i === header.length) fail();
        if (!paramAhead()) break;
      }
    } else {
      i++;
      skip(/[ \t]/);
      if (i === header.length) fail();
    }
  }
}

/**
 * The access scopes a request needs, as `repository:<name>:<action>` atoms (one action each).
 *
 * @example
 * ```ts
 * import { repositoryScopes } from "@spackle/spackle/registry";
 * repositoryScopes("acme/cache", ["pull", "push"]);
 * // ["repository:acme/cache:pull", "repository:acme/cache:push"]
 * ```
 */
export function repositoryScopes(repository: string, actions: readonly string[]): string[] {
  return actions.map((action) => `repository:${repository}:${action}`);
}

/** Splits a token `scope` value (`type:name:a,b type2:…`) into one-action atoms. */
function scopeAtoms(scope: string): string[] {
  return scope.split(/\s+/).filter(Boolean).flatMap((entry) => {
    const cut = entry.lastIndexOf(":");
    if (cut <= 0) return [entry];
    return entry.slice(cut + 1).split(",").map((action) => `${entry.slice(0, cut)}:${action}`);
  });
}

/** Joins atoms back into token request scopes, one per resource (`repository:x:pull,push`). */
function scopeParams(atoms: Iterable<string>): string[] {
  const byResource = new Map<string, string[]>();
  for (const atom of atoms) {
    const cut = atom.lastIndexOf(":");
    const resource = atom.slice(0, cut);
    byResource.set(resource, [...(byResource.get(resource) ?? []), atom.slice(cut + 1)]);
  }
  return [...byResource].map(([resource, actions]) => `${resource}:${actions.join(",")}`);
}

/** How the authenticator reaches a token realm (the client's fetch with retries and redirects). */
export type TokenFetch = (url: URL, init: RequestInit) => Promise<Response>;

/** Settings of a {@linkcode RegistryAuthenticator}. */
export interface AuthenticatorOptions {
  /** Source of credentials for this registry; asked at most once. */
  readonly credentials: CredentialProvider;
  /** Performs token requests. */
  readonly fetch: TokenFetch;
  /** Allow sending credentials to a plain-HTTP realm (only for `oci+http` registries). */
  readonly allowPlainHttpRealm: boolean;
  /** Client id sent to the token realm. */
  readonly clientId: string;
}

interface CachedToken {
  readonly atoms: ReadonlySet<string>;
  readonly header: string;
  readonly expiresAt: number;
}

// Docker token spec: a token without `expires_in` lasts 60 s. Renew a little early (at most 5 s,
// at most a tenth of the lifetime).
const DEFAULT_TOKEN_SECONDS = 60;
const EXPIRY_MARGIN_MS = 5_000;

/**
 * Answers authentication challenges of one registry and caches the result: Bearer tokens per
 * scope set (reused for any request whose scopes they cover, dropped when expired or refused),
 * or the Basic header once the registry asked for Basic. Headers it returns are secrets: the
 * caller must only send them to the registry's own origin.
 *
 * @example
 * ```ts
 * const auth = new RegistryAuthenticator("ghcr.io", {
 *   credentials: async () => undefined, fetch, allowPlainHttpRealm: false, clientId: "spackle",
 * });
 * ```
 */
export class RegistryAuthenticator {
  readonly #registry: string;
  readonly #options: AuthenticatorOptions;
  #credentials?: Promise<Credentials | undefined>;
  #basic?: string;
  #tokens: CachedToken[] = [];

  /** Creates an authenticator for `registry` (`host[:port]`). */
  constructor(registry: string, options: AuthenticatorOptions) {
    this.#registry = registry;
    this.#options = options;
  }

  /** A cached `Authorization` value covering `scopes`, if any (Basic covers everything). */
  cached(scopes: readonly string[]): string | undefined {
    if (this.#basic) return this.#basic;
    const now = Date.now();
    this.#tokens = this.#tokens.filter((t) => t.expiresAt > now);
    return this.#tokens.find((t) => scopes.every((s) => t.atoms.has(s)))?.header;
  }

  /** Forgets `header` after the registry refused it, so the next request logs in again. */
  invalidate(header: string): void {
    if (this.#basic === header) this.#basic = undefined;
    this.#tokens = this.#tokens.filter((t) => t.header !== header);
  }

  /**
   * Logs in as the registry's challenge (`WWW-Authenticate` of a 401) asks and returns the
   * `Authorization` value to retry with. Bearer is preferred; the token is requested for the
   * challenge's scope plus `scopes` (e.g. the `from` repository of a mount).
   *
   * @throws {RegistryAuthError} when the challenge is missing, malformed or unsupported, when
   *   the realm refuses, or when Basic is asked for and there are no credentials.
   */
  async respond(challengeHeader: string | null, scopes: readonly string[]): Promise<string> {
    if (!challengeHeader) {
      throw new RegistryAuthError(this.#registry, "401 without a WWW-Authenticate challenge");
    }
    const challenges = parseWwwAuthenticate(challengeHeader, this.#registry);
    const credentials = await (this.#credentials ??= this.#options.credentials(this.#registry));
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer) return await this.#bearer(bearer, scopes, credentials);
    if (challenges.some((c) => c.scheme === "basic")) {
      if (!credentials?.username || credentials.password === undefined) {
        throw new RegistryAuthError(
          this.#registry,
          "the registry asks for Basic auth and no credentials were found",
        );
      }
      this.#basic = `Basic ${base64(`${credentials.username}:${credentials.password}`)}`;
      return this.#basic;
    }
    const schemes = challenges.map((c) => c.scheme).join(", ");
    throw new RegistryAuthError(this.#registry, `unsupported authentication scheme: ${schemes}`);
  }

  async #bearer(
    challenge: Challenge,
    scopes: readonly string[],
    credentials?: Credentials,
  ): Promise<string> {
    const { realm, service, scope } = challenge.params;
    if (!realm) throw new RegistryAuthError(this.#registry, "Bearer challenge without a realm");
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryAuthError(this.#registry, "Bearer challenge with an invalid realm URL");
    }
    if (
      url.protocol !== "https:" && !(url.protocol === "http:" && this.#options.allowPlainHttpRealm)
    ) {
      throw new RegistryAuthError(
        this.#registry,
        `refusing to log in over insecure ${redactUrl(url)}`,
      );
    }
    const atoms = new Set([...scopeAtoms(scope ?? ""), ...scopes]);
    const init: RequestInit = { headers: { accept: "application/json" } };
    if (credentials?.identityToken) {
      // OAuth2 refresh-token grant (what Docker does with an `identitytoken`).
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: credentials.identityToken,
        client_id: this.#options.clientId,
      });
      if (service) form.set("service", service);
      if (atoms.size) form.set("scope", scopeParams(atoms).join(" "));
      init.method = "POST";
      init.body = form;
    } else {
      url.search = "";
      if (service) url.searchParams.set("service", service);
      for (const s of scopeParams(atoms)) url.searchParams.append("scope", s);
      url.searchParams.set("client_id", this.#options.clientId);
      if (credentials?.username && credentials.password !== undefined) {
        init.headers = {
          ...init.headers,
          authorization: `Basic ${base64(`${credentials.username}:${credentials.password}`)}`,
        };
      }
    }
    const res = await this.#options.fetch(url, init);
    if (!res.ok) {
      await res.body?.cancel();
      const who = credentials ? "with the configured credentials" : "anonymously";
      throw new RegistryAuthError(
        this.#registry,
        `token request ${who} to ${redactUrl(url)} failed: HTTP ${res.status}`,
      );
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = await res.json();
    } catch {
      throw new RegistryAuthError(
        this.#registry,
        `token response from ${redactUrl(url)} is not JSON`,
      );
    }
    const token = typeof body.token === "string" && body.token ? body.token : body.access_token;
    if (typeof token !== "string" || !token) {
      throw new RegistryAuthError(
        this.#registry,
        `token response from ${redactUrl(url)} has no token`,
      );
    }
    const seconds = typeof body.expires_in === "number" && body.expires_in > 0
      ? body.expires_in
      : DEFAULT_TOKEN_SECONDS;
    const header = `Bearer ${token}`;
    this.#tokens.push({
      atoms,
      header,
      expiresAt: Date.now() + seconds * 1000 - Math.min(EXPIRY_MARGIN_MS, seconds * 100),
    });
    return header;
  }
}

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}
