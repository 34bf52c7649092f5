/**
 * Image references (`[domain[:port]/]path[:tag][@sha256:hex]`) and OCI mirror URLs
 * (`oci://…`, `oci+http://…`), parsed the way Spack and Docker do.
 *
 * Source: Spack build cache format reference §4.1 (`spack.oci.image.ImageReference`).
 *
 * @module
 */

import { FormatError } from "../errors.ts";
import { redactUserinfo } from "../net/http.ts";
import { SHA256_DIGEST_RE } from "./_digest.ts";
import { PATH_COMPONENT_ANY_CASE_RE, TAG_RE } from "./_names.ts";

/** The registry host Docker Hub references resolve to (Spack uses this name, not `docker.io`). */
export const DOCKER_HUB_DOMAIN = "index.docker.io";

/** The tag a reference gets when it names none. */
export const DEFAULT_TAG = "latest";

// One host name label; labels joined by dots, then an optional port.
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?$/;
const IPV6_HOST_RE = /^\[[0-9A-Fa-f:.]+\](?::[0-9]+)?$/;

/**
 * A parsed, normalised image reference: registry `domain` (host with optional port), lower-case
 * `repository` path, `tag` (default `latest`) and optional `sha256:` `digest`.
 *
 * @example
 * ```ts
 * const ref = parseImageReference("ubuntu:22.04");
 * ref.domain; // "index.docker.io"
 * ref.repository; // "library/ubuntu"
 * ref.toString(); // "index.docker.io/library/ubuntu:22.04"
 * ```
 */
export class ImageReference {
  /** Creates a reference from already-normalised parts; use {@linkcode parseImageReference} for strings. */
  constructor(
    /** Registry host, with `:port` when given (e.g. `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`). */
    readonly domain: string,
    /** Repository path inside the registry, lower case (e.g. `library/ubuntu`). */
    readonly repository: string,
    /** Tag; `latest` when the reference named none. */
    readonly tag: string = DEFAULT_TAG,
    /** Manifest digest `sha256:<64 hex>`, when the reference pins one. */
    readonly digest?: string,
  ) {}

  /** The same repository with another tag (and no digest), e.g. a spec tag in a mirror. */
  withTag(tag: string): ImageReference {
    if (!TAG_RE.test(tag)) throw new FormatError(tag, "invalid tag");
    return new ImageReference(this.domain, this.repository, tag);
  }

  /** The same repository and tag pinned to `digest` (`sha256:<64 hex>`). */
  withDigest(digest: string): ImageReference {
    if (!SHA256_DIGEST_RE.test(digest)) throw new FormatError(digest, "invalid digest");
    return new ImageReference(this.domain, this.repository, this.tag, digest);
  }

  /** The manifest reference to ask the registry for: the digest when pinned, else the tag. */
  get manifestReference(): string {
    return this.digest ?? this.tag;
  }

  /** `domain/repository:tag[@digest]`, the form Spack prints. */
  toString(): string {
    return `${this.domain}/${this.repository}:${this.tag}${this.digest ? `@${this.digest}` : ""}`;
  }
}

/**
 * Parses a Docker-style image reference `[domain[:port]/]path[:tag][@sha256:<64 hex>]`.
 *
 * Normalisation (Spack reference §4.1, Docker's rules): no domain ⇒ `index.docker.io` and, for a
 * single-component path, a `library/` prefix; a first component that has no `.` or `:`, is not
 * `localhost` and is all lower case is a Docker Hub namespace, not a host; `docker.io` is written
 * as `index.docker.io`. The path is lower-cased; the tag keeps its case and defaults to `latest`.
 *
 * @throws {FormatError} when the string is not a valid reference or the digest is not sha256.
 * @example
 * ```ts
 * parseImageReference("localhost:5000/Team/App:v1").toString(); // "localhost:5000/team/app:v1"
 * ```
 */
export function parseImageReference(input: string): ImageReference {
  const invalid = (why: string) => new FormatError(input, `invalid image reference: ${why}`);
  let rest = input;

  let digest: string | undefined;
  const at = rest.lastIndexOf("@");
  // `user:password@host/repo`: an `@` before the path is userinfo, never a digest; not echoed.
  if (at >= 0 && !rest.slice(0, at).includes("/") && rest.slice(at + 1).includes("/")) {
    throw new FormatError(
      `***@${rest.slice(at + 1)}`,
      "invalid image reference: credentials cannot be written in a reference " +
        "(use oci://user:password@host/… or a Docker credential helper)",
    );
  }
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!SHA256_DIGEST_RE.test(digest)) {
      throw invalid("only sha256:<64 lower-case hex> digests are accepted");
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(`bad tag ${JSON.stringify(tag)}`);
  }

  let domain: string;
  let path: string;
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  if (slash >= 0 && isDomain(first)) {
    domain = first === "docker.io" ? DOCKER_HUB_DOMAIN : first;
    path = rest.slice(slash + 1);
    if (!HOST_RE.test(domain) && !IPV6_HOST_RE.test(domain)) throw invalid("bad registry host");
  } else {
    domain = DOCKER_HUB_DOMAIN;
    path = rest;
  }
  if (path === "" || !path.split("/").every((c) => PATH_COMPONENT_ANY_CASE_RE.test(c))) {
    throw invalid("bad repository path");
  }
  path = path.toLowerCase();
  if (domain === DOCKER_HUB_DOMAIN && !path.includes("/")) path = `library/${path}`;
  if (path.length > 255) throw invalid("repository path longer than 255 characters");
  return new ImageReference(domain, path, tag ?? DEFAULT_TAG, digest);
}

function isDomain(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost" ||
    component !== component.toLowerCase();
}

/** A Spack OCI mirror: the image reference it points at and whether it speaks plain HTTP. */
export interface OciMirrorLocation {
  /** Repository (and default tag) of the mirror; spec images are tags in this repository. */
  readonly reference: ImageReference;
  /** `true` for `oci+http://` (plain HTTP), `false` for `oci://` (HTTPS). */
  readonly plainHttp: boolean;
  /** User name and password written in the URL (`oci://user:password@host/…`), decoded. */
  readonly credentials?: { readonly username: string; readonly password: string };
}

/**
 * Whether `url` is an OCI mirror URL (`oci://` or `oci+http://`), as Spack's `is_oci_url`.
 *
 * @example
 * ```ts
 * import { isOciUrl } from "@spackle/spackle/registry";
 * isOciUrl("oci+http://127.0.0.1:5000/cache"); // true
 * isOciUrl("s3://bucket/cache"); // false
 * ```
 */
export function isOciUrl(url: string): boolean {
  return url.startsWith("oci://") || url.startsWith("oci+http://");
}

/**
 * Parses a Spack OCI mirror URL: `oci://<ref>` (HTTPS) or `oci+http://<ref>` (plain HTTP); there is
 * no fallback between the two (Spack reference §4.1). Userinfo (`oci://user:password@host/…`)
 * is taken apart from the host and returned as `credentials`; errors never repeat it.
 *
 * @throws {FormatError} when the scheme is not OCI or the reference is invalid.
 * @example
 * ```ts
 * const { reference, plainHttp } = parseOciMirrorUrl("oci+http://127.0.0.1:5000/spack/cache");
 * reference.repository; // "spack/cache"; plainHttp === true
 * ```
 */
export function parseOciMirrorUrl(url: string): OciMirrorLocation {
  const plainHttp = url.startsWith("oci+http://");
  if (!plainHttp && !url.startsWith("oci://")) {
    throw new FormatError(url, "not an OCI mirror URL (expected oci:// or oci+http://)");
  }
  let rest = url.slice(plainHttp ? "oci+http://".length : "oci://".length).replace(/\/+$/, "");
  // Userinfo ends at the last `@` before the first `/` (a digest's `@` comes after a `/`).
  const slash = rest.indexOf("/");
  const at = rest.lastIndexOf("@", slash < 0 ? rest.length : slash);
  let credentials: OciMirrorLocation["credentials"];
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(":");
    try {
      credentials = {
        username: decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)),
        password: colon < 0 ? "" : decodeURIComponent(userinfo.slice(colon + 1)),
      };
    } catch {
      throw new FormatError(redactUserinfo(url), "malformed percent-encoding in the userinfo");
    }
  }
  const where = redactUserinfo(url);
  try {
    return { reference: parseImageReference(rest), plainHttp, credentials };
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    throw new FormatError(where, e.message.slice(e.message.indexOf(": ") + 2));
  }
}

/**
 * Formats a mirror location back into its `oci://` or `oci+http://` URL (without tag or digest).
 *
 * @example
 * ```ts
 * import { formatOciMirrorUrl, parseOciMirrorUrl } from "@spackle/spackle/registry";
 * formatOciMirrorUrl(parseOciMirrorUrl("oci+http://127.0.0.1:5000/cache/")); // "oci+http://127.0.0.1:5000/cache"
 * ```
 */
export function formatOciMirrorUrl(location: OciMirrorLocation): string {
  const { reference, plainHttp } = location;
  return `${plainHttp ? "oci+http" : "oci"}://${reference.domain}/${reference.repository}`;
}
