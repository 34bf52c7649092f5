// Image references and OCI mirror URLs (Spack build cache reference §4.1; vectors follow
// Spack's `test/oci/image.py` and Docker's normalisation rules).
import assert from "node:assert/strict";
import { FormatError } from "../../lib/errors.ts";
import { hasUrlPassword, redactUserinfo } from "../../lib/net/http.ts";
import {
  formatOciMirrorUrl,
  isOciUrl,
  parseImageReference,
  parseOciMirrorUrl,
} from "../../lib/registry/mod.ts";

const A64 = "a".repeat(64);

Deno.test("parseImageReference: domains, paths, tags, digests", () => {
  const cases: [string, string, string, string, string | undefined][] = [
    [
      `example.com:1234/a/b/c:tag@sha256:${A64}`,
      "example.com:1234",
      "a/b/c",
      "tag",
      `sha256:${A64}`,
    ],
    ["example.com:1234/a/b/c:tag", "example.com:1234", "a/b/c", "tag", undefined],
    ["example.com:1234/a/b/c", "example.com:1234", "a/b/c", "latest", undefined],
    [
      `example.com:1234/a/b/c@sha256:${A64}`,
      "example.com:1234",
      "a/b/c",
      "latest",
      `sha256:${A64}`,
    ],
    ["1.2.3.4:1234/a/b/c:tag", "1.2.3.4:1234", "a/b/c", "tag", undefined],
    ["[2001:db8::1]:1234/a/b/c:tag", "[2001:db8::1]:1234", "a/b/c", "tag", undefined],
    ["localhost/myimage:abc", "localhost", "myimage", "abc", undefined],
    ["localhost:1234/myimage:abc", "localhost:1234", "myimage", "abc", undefined],
    ["myname:1234/myimage:abc", "myname:1234", "myimage", "abc", undefined],
    ["example.com/UPPERCASE/lowercase:AbC", "example.com", "uppercase/lowercase", "AbC", undefined],
    ["ghcr.io/org/my-cache__x.y:v1.0_rc-2", "ghcr.io", "org/my-cache__x.y", "v1.0_rc-2", undefined],
  ];
  for (const [input, domain, repository, tag, digest] of cases) {
    const ref = parseImageReference(input);
    assert.deepEqual([ref.domain, ref.repository, ref.tag, ref.digest], [
      domain,
      repository,
      tag,
      digest,
    ], input);
  }
});

Deno.test("parseImageReference: Docker Hub normalisation", () => {
  const cases: [string, string, string, string][] = [
    ["ubuntu", "index.docker.io", "library/ubuntu", "latest"],
    ["ubuntu:22.04", "index.docker.io", "library/ubuntu", "22.04"],
    ["myname/myimage:abc", "index.docker.io", "myname/myimage", "abc"],
    ["spack/ubuntu-jammy", "index.docker.io", "spack/ubuntu-jammy", "latest"],
    ["docker.io/ubuntu", "index.docker.io", "library/ubuntu", "latest"],
    ["index.docker.io/library/ubuntu:24.04", "index.docker.io", "library/ubuntu", "24.04"],
    // A first component with upper case is a host name, not a Hub namespace (Docker's rule).
    ["Registry/repo", "Registry", "repo", "latest"],
  ];
  for (const [input, domain, repository, tag] of cases) {
    const ref = parseImageReference(input);
    assert.deepEqual([ref.domain, ref.repository, ref.tag], [domain, repository, tag], input);
  }
});

Deno.test("parseImageReference: invalid references are FormatErrors", () => {
  for (
    const input of [
      "",
      ":tag",
      "a//b",
      "example.com/",
      "example.com/a:",
      "repo@sha256:abc",
      `repo@sha512:${"a".repeat(128)}`,
      `repo@sha256:${"A".repeat(64)}`,
      "-leading-dash",
      "a/b:tag with space",
      `a:${"t".repeat(129)}`,
    ]
  ) {
    assert.throws(() => parseImageReference(input), FormatError, JSON.stringify(input));
  }
});

Deno.test("ImageReference: toString, withTag, withDigest, manifestReference", () => {
  const ref = parseImageReference("Example.com:5000/Team/App:V1");
  assert.equal(ref.toString(), "Example.com:5000/team/app:V1");
  assert.equal(parseImageReference(ref.toString()).toString(), ref.toString());
  const spec = ref.withTag("libelf-0.8.13-rqh2vuf6fqwkmipzgi2wjx352mq7y7ez.spack");
  assert.equal(
    spec.toString(),
    "Example.com:5000/team/app:libelf-0.8.13-rqh2vuf6fqwkmipzgi2wjx352mq7y7ez.spack",
  );
  assert.equal(spec.manifestReference, "libelf-0.8.13-rqh2vuf6fqwkmipzgi2wjx352mq7y7ez.spack");
  const pinned = spec.withDigest(`sha256:${A64}`);
  assert.equal(pinned.manifestReference, `sha256:${A64}`);
  assert.equal(pinned.toString(), `${spec.toString()}@sha256:${A64}`);
  assert.throws(() => ref.withTag("bad tag"), FormatError);
  assert.throws(() => ref.withDigest("sha256:short"), FormatError);
});

Deno.test("parseOciMirrorUrl: oci:// is HTTPS, oci+http:// is plain HTTP", () => {
  const https = parseOciMirrorUrl("oci://ghcr.io/Org/Cache");
  assert.equal(https.plainHttp, false);
  assert.equal(https.reference.toString(), "ghcr.io/org/cache:latest");
  const plain = parseOciMirrorUrl("oci+http://127.0.0.1:5000/spack/cache/");
  assert.equal(plain.plainHttp, true);
  assert.equal(plain.reference.domain, "127.0.0.1:5000");
  assert.equal(plain.reference.repository, "spack/cache");
  assert.equal(
    parseOciMirrorUrl("oci://ubuntu").reference.toString(),
    "index.docker.io/library/ubuntu:latest",
  );
  assert.equal(formatOciMirrorUrl(plain), "oci+http://127.0.0.1:5000/spack/cache");
  assert.equal(formatOciMirrorUrl(https), "oci://ghcr.io/org/cache");
  assert.equal(isOciUrl("oci://x/y"), true);
  assert.equal(isOciUrl("oci+http://x/y"), true);
  assert.equal(isOciUrl("s3://bucket/cache"), false);
  assert.throws(() => parseOciMirrorUrl("https://ghcr.io/org/cache"), FormatError);
});

Deno.test("parseOciMirrorUrl: userinfo is credentials, not host:port, and never in errors", () => {
  const { reference, plainHttp, credentials } = parseOciMirrorUrl(
    "oci+http://ci%40example:p%3Ass@127.0.0.1:5000/spack/cache",
  );
  assert.equal(reference.domain, "127.0.0.1:5000");
  assert.equal(reference.repository, "spack/cache");
  assert.ok(plainHttp);
  assert.deepEqual(credentials, { username: "ci@example", password: "p:ss" });
  assert.equal(parseOciMirrorUrl("oci://ghcr.io/a/b").credentials, undefined);
  // A digest's `@` comes after the path: not userinfo.
  const pinned = parseOciMirrorUrl(`oci://ghcr.io/a/b@sha256:${A64}`);
  assert.equal(pinned.reference.digest, `sha256:${A64}`);
  assert.equal(pinned.credentials, undefined);
  assert.throws(() => parseOciMirrorUrl("oci://me:hunter2@ghcr.io/Bad Path"), (e) => {
    assert.ok(e instanceof FormatError);
    assert.ok(!e.message.includes("hunter2"), e.message);
    assert.match(e.message, /^oci:\/\/\*\*\*@ghcr\.io\/Bad Path: invalid image reference/);
    return true;
  });
});

Deno.test("parseImageReference: userinfo is refused without being echoed", () => {
  assert.throws(() => parseImageReference("me:hunter2@ghcr.io/a/b:1"), (e) => {
    assert.ok(e instanceof FormatError);
    assert.ok(!e.message.includes("hunter2"), e.message);
    assert.match(e.message, /^\*\*\*@ghcr\.io\/a\/b:1: .*credentials cannot be written/);
    return true;
  });
  assert.equal(parseImageReference(`ubuntu@sha256:${A64}`).digest, `sha256:${A64}`);
});

Deno.test("redactUserinfo: any scheme, anywhere in a message", () => {
  assert.equal(
    redactUserinfo("GET oci://me:pw@ghcr.io/x and s3://k:s@b/p, https://u@h/"),
    "GET oci://***@ghcr.io/x and s3://***@b/p, https://***@h/",
  );
  assert.equal(redactUserinfo("mail me@example.org at /a/b"), "mail me@example.org at /a/b");
  assert.ok(hasUrlPassword("https://u:p@h/x"));
  assert.ok(!hasUrlPassword("https://u@h/x"));
  assert.ok(!hasUrlPassword("https://h/x@y"));
});
