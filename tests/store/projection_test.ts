import { politeFilename } from "../../lib/spec/spec.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FormatError } from "../../lib/errors.ts";
import type { SpecNode } from "../../lib/spec/spec.ts";
import {
  paddedRoot,
  PATH_PLACEHOLDER,
  relativePrefix,
  unpaddedRoot,
} from "../../lib/store/projection.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { makeSpec } from "./_specs.ts";

const MANIFEST = await Deno.readTextFile(join(SPACK12, "MANIFEST.md"));

/** The backquoted value of the MANIFEST.md bullet starting with `label`. */
function manifestValue(label: string): string {
  const line = MANIFEST.split("\n").find((l) => l.startsWith(`- ${label}`));
  assert.ok(line, `MANIFEST.md has no line "${label}"`);
  return line.slice(line.lastIndexOf(": `") + 3, -1);
}

Deno.test("paddedRoot: /opt/spack padded to 128 is the relocation reference §1.3 example", () => {
  assert.equal(
    paddedRoot("/opt/spack", 128),
    "/opt/spack/__spack_path_placeholder__/__spack_path_placeholder__/__spack_path_placeholder__/__spack_path_placeholder__/__spack_p",
  );
});

Deno.test("paddedRoot and unpaddedRoot reproduce the store root Spack 1.2 padded (MANIFEST.md)", () => {
  const padded = manifestValue("store root as Spack saw it");
  const unpadded = manifestValue("unpadded root");
  assert.equal(paddedRoot(unpadded, 128), padded);
  assert.equal(unpaddedRoot(padded), unpadded);
});

Deno.test("paddedRoot: exact length, placeholder components, truncated or '_'-ended last one", () => {
  for (const root of ["/opt/spack", "/a", "/home/software/spack"]) {
    for (let length = root.length + 2; length < 300; length++) {
      const padded = paddedRoot(root, length);
      assert.equal(padded.length, length);
      assert.ok(padded.startsWith(`${root}/`));
      const parts = padded.slice(root.length + 1).split("/");
      const last = parts.pop()!;
      assert.ok(parts.every((p) => p === PATH_PLACEHOLDER), padded);
      assert.ok(last === `${PATH_PLACEHOLDER}_` || PATH_PLACEHOLDER.startsWith(last), padded);
      assert.equal(unpaddedRoot(padded), root);
    }
  }
  // A pad that is a whole number of "placeholder/" units would end in "/": it ends in "_".
  const whole = paddedRoot("/a", "/a/".length + 2 * (PATH_PLACEHOLDER.length + 1));
  assert.equal(whole, `/a/${PATH_PLACEHOLDER}/${PATH_PLACEHOLDER}_`);
});

Deno.test("paddedRoot: nothing to pad, one character, and padded_length: true", () => {
  assert.equal(paddedRoot("/opt/spack", 10), "/opt/spack");
  assert.equal(paddedRoot("/opt/spack", 4), "/opt/spack");
  assert.equal(paddedRoot("/opt/spack", 11), "/opt/spack"); // one char cannot be padded
  assert.equal(paddedRoot("/opt/spack/", 128), paddedRoot("/opt/spack", 128));
  assert.equal(paddedRoot("/opt/spack", true).length, 4096 - 300);
  assert.equal(unpaddedRoot("/opt/spack"), "/opt/spack");
  assert.equal(unpaddedRoot("/opt/_private/spack"), "/opt/_private/spack");
});

Deno.test("relativePrefix gives the harness prefixes Spack 1.2 installed to (MANIFEST.md)", async () => {
  const index = JSON.parse(
    await Deno.readTextFile(join(
      SPACK12,
      "fs-unsigned/blobs/sha256/47/4789dc9868d0ef52a2b04867c6ba46261794774611b3cb05333c8bef8372a9d6",
    )),
  );
  const root = manifestValue("store root as Spack saw it");
  for (
    const [name, hash] of [["harness-hello", HARNESS.hello], ["harness-libdep", HARNESS.libdep]]
  ) {
    const node = index.database.installs[hash].spec as SpecNode;
    assert.equal(`${root}/${relativePrefix(node)}`, manifestValue(`prefix of ${name}`));
  }
});

Deno.test("relativePrefix: archspec object targets use the name; polite components", () => {
  const spec = makeSpec("zlib", "git.v1=1.3", [], { target: { name: "icelake" } });
  assert.equal(relativePrefix(spec.node), `linux-icelake/zlib-git.v1_1.3-${spec.node.hash}`);
  assert.equal(politeFilename("a/b:c=d e+f.g-h_i"), "a_b_c_d_e+f.g-h_i");
  assert.throws(() => relativePrefix({ name: "x", hash: "h" }), FormatError);
});
