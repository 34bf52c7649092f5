import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { buildIndex, parseIndex } from "../../lib/buildcache/index.ts";
import { parseManifest, serializeManifest, stripClearsign } from "../../lib/buildcache/manifest.ts";
import { blobKey, specManifestKey } from "../../lib/buildcache/layout.ts";
import { parseSpecBlob, specBlobJson } from "../../lib/buildcache/spec_blob.ts";
import { parseBuildInfo, serializeBuildInfo } from "../../lib/buildcache/buildinfo.ts";
import { FormatError } from "../../lib/errors.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { gzipBytes, gzipStream, setGzipOsByte } from "../../lib/stream/gzip.ts";
import { readAll, streamOf } from "../../lib/stream/io.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";

const unsigned = join(SPACK12, "fs-unsigned");
const helloManifestKey =
  "v3/manifests/spec/harness-hello/harness-hello-1.0-hkbpthod3rj3wdmbruquumixalrd6svw.spec.manifest.json";

function blob(cache: string, checksum: string): Uint8Array {
  return Deno.readFileSync(join(cache, blobKey("sha256", checksum)));
}

Deno.test("spec manifests re-serialise byte for byte (indent-0 JSON)", () => {
  for (const key of [helloManifestKey, "v3/manifests/index/index.manifest.json"]) {
    const text = Deno.readTextFileSync(join(unsigned, key));
    assert.equal(serializeManifest(parseManifest(text, key).data), text);
  }
});

Deno.test("clearsigned manifests parse to the same records as unsigned ones", () => {
  const signed = Deno.readTextFileSync(join(SPACK12, "fs-signed", helloManifestKey));
  const plain = Deno.readTextFileSync(join(unsigned, helloManifestKey));
  const m = parseManifest(signed, "signed");
  assert.equal(m.signed, signed);
  assert.deepEqual(m.data, parseManifest(plain, "plain").data);
  assert.equal(stripClearsign(plain, "plain"), plain);
});

Deno.test("manifest errors name the source", () => {
  assert.throws(
    () => parseManifest("{", "file:///x/m.json"),
    (e) => e instanceof FormatError && /x\/m\.json/.test(e.message),
  );
  assert.throws(() => parseManifest('{"version":2,"data":[]}', "m"), /layout version mismatch/);
  assert.throws(
    () => parseManifest('{"version":3,"data":[{"checksum":"zz"}]}', "m"),
    /bad blob record/,
  );
});

Deno.test("spec blob JSON equals what Spack stored, and its manifest key matches", () => {
  const manifest = parseManifest(Deno.readTextFileSync(join(unsigned, helloManifestKey)), "m");
  const specRecord = manifest.data[1];
  const stored = new TextDecoder().decode(gunzipSync(blob(unsigned, specRecord.checksum)));
  const spec = parseSpecBlob(stored, "spec blob");
  assert.equal(spec.node.hash, HARNESS.hello);
  assert.equal(specBlobJson(spec), stored);
  assert.equal(specManifestKey(spec.node), helloManifestKey);
});

Deno.test("index rebuilt from the cache's specs equals Spack's index blob byte for byte", () => {
  const indexManifest = parseManifest(
    Deno.readTextFileSync(join(unsigned, "v3/manifests/index/index.manifest.json")),
    "index",
  );
  const stored = new TextDecoder().decode(blob(unsigned, indexManifest.data[0].checksum));
  const records = parseIndex(stored, "index");
  const pool = new Map([...records].map(([h, r]) => [h, r.node]));
  const roots = [pool.get(HARNESS.hello)!, pool.get(HARNESS.libdep)!];
  const rebuilt = buildIndex(roots, pool, new Set([HARNESS.hello, HARNESS.libdep]));
  assert.equal(rebuilt, stored);
  assert.equal(sha256Hex(rebuilt), indexManifest.data[0].checksum);
  assert.equal(records.get(HARNESS.glibc)?.inBuildcache, false);
});

Deno.test("gzip header matches Python's GzipFile(mtime=0)", () => {
  const gz = gzipBytes("hello");
  assert.deepEqual([...gz.slice(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  assert.equal(new TextDecoder().decode(gunzipSync(gz)), "hello");
});

Deno.test("the gzip OS byte is set wherever chunk boundaries fall", async () => {
  const gz = new Uint8Array(gzipSync("hello world"));
  for (const size of [1, 3, 9, 10, gz.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < gz.length; i += size) chunks.push(gz.slice(i, i + size));
    const out = await readAll(ReadableStream.from(chunks).pipeThrough(setGzipOsByte()));
    const want = gz.slice();
    want[9] = 0xff;
    assert.deepEqual(out, want, `chunks of ${size}`);
  }
  const streamed = await readAll(streamOf("x".repeat(100_000)).pipeThrough(gzipStream()));
  assert.equal(streamed[9], 0xff);
  assert.equal(new TextDecoder().decode(gunzipSync(streamed)), "x".repeat(100_000));
});

Deno.test("buildinfo from the fixtures round-trips to identical YAML", () => {
  const md = Deno.readTextFileSync(join(SPACK12, "MANIFEST.md"));
  const found = [...md.matchAll(/```yaml\n(\{sbang.*\n)```/g)].map((m) => m[1]);
  assert.equal(found.length, 2);
  for (const text of found) assert.equal(serializeBuildInfo(parseBuildInfo(text, "bi")), text);
  const quoted = serializeBuildInfo({
    ...parseBuildInfo(found[0], "bi"),
    relocate_textfiles: ["a b: c", "true", "x,y"],
  });
  assert.deepEqual(parseBuildInfo(quoted, "q").relocate_textfiles, ["a b: c", "true", "x,y"]);
});

Deno.test("buildinfo without hash_to_prefix or prefix_to_hash is refused; legacy prefix_to_hash inverted", () => {
  assert.throws(() => parseBuildInfo("{relocate_binaries: []}", "old.tar"), /cannot be relocated/);
  const legacy = parseBuildInfo("{prefix_to_hash: {/old/p-abc: abc}}", "legacy");
  assert.deepEqual(legacy.hash_to_prefix, { abc: "/old/p-abc" });
});
