/**
 * `spackle list` as `spack buildcache list`: headers by architecture and compilers, the hash
 * columns (-l, -L), variants (-v), this machine's specs only unless -a, and spec query filters.
 * The cache is the Spack 1.2 fixture with hello marked `haswell` (x86_64 family, old-style
 * compiler, a variant and a flag) and libdep marked `neoverse_v1` (aarch64 family).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spackle } from "../_support/cli.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { editSpecBlob, MANIFEST } from "../_support/hostile_cache.ts";

const X86_LINUX = Deno.build.os === "linux" && Deno.build.arch === "x86_64";

/**
 * The fixture cache with hello's and libdep's nodes changed in every spec blob that holds them
 * (hello's DAG holds libdep too), and its index regenerated.
 */
async function mixedCache(): Promise<string> {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  const edits: Record<string, (node: Record<string, unknown>) => void> = {
    "harness-hello": (node) => {
      (node.arch as Record<string, unknown>).target = "haswell";
      node.annotations = { ...node.annotations as object, compiler: "gcc@=12.2.0" };
      const params = node.parameters as Record<string, unknown>;
      params.shared = true;
      params.static = false;
      params.cflags = ["-O2", "-g"];
    },
    "harness-libdep": (node) => {
      (node.arch as Record<string, unknown>).target = "neoverse_v1";
    },
  };
  for (const key of [MANIFEST.hello, MANIFEST.libdep]) {
    await editSpecBlob(cache, key, (doc) => {
      for (const node of doc.spec.nodes) edits[node.name as string]?.(node);
    });
  }
  // --full: the edited manifests keep their keys, which an incremental update trusts.
  const index = await spackle("update-index", "--full", cache);
  assert.equal(index.code, 0, index.stderr);
  return cache;
}

async function list(...args: string[]): Promise<string> {
  const run = await spackle("list", ...args);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout;
}

const HELLO_HEADER = "-- linux-debian12-haswell / %gcc@=12.2.0 -----------------------";
const LIBDEP_HEADER = "-- linux-debian12-neoverse_v1 / no compilers -------------------";

Deno.test({
  name: "list: this machine's specs by default, -a every architecture, grouped as Spack does",
  ignore: !X86_LINUX,
  fn: async () => {
    const cache = await mixedCache();
    try {
      assert.equal(HELLO_HEADER.length, 64);
      assert.equal(await list(cache), `${HELLO_HEADER}\nharness-hello@1.0\n`);
      assert.equal(
        await list("-a", cache),
        `${HELLO_HEADER}\nharness-hello@1.0\n\n${LIBDEP_HEADER}\nharness-libdep@1.0\n`,
      );
      assert.equal(
        await list("--allarch", "-l", cache),
        `${HELLO_HEADER}\nhkbptho harness-hello@1.0\n\n${LIBDEP_HEADER}\n6zoocyj harness-libdep@1.0\n`,
      );
      assert.equal(
        await list("-L", cache),
        `${HELLO_HEADER}\n${HARNESS.hello} harness-hello@1.0\n`,
      );
      assert.equal(
        await list("-v", cache),
        `${HELLO_HEADER}\nharness-hello@1.0 cflags="-O2 -g"+shared~static build_system=generic\n`,
      );
      assert.equal(
        await list("-lN", cache),
        `${HELLO_HEADER}\nhkbptho harness.harness-hello@1.0\n`,
      );

      // Nothing for this machine matches: the count, and a hint at the hidden ones.
      const other = await spackle("list", cache, "harness-libdep");
      assert.equal(other.code, 0, other.stderr);
      assert.equal(other.stdout, "");
      assert.match(
        other.stderr,
        /^0 cached builds\.\n1 spec\(s\) for other architectures: use -a/m,
      );

      // JSON follows the same filters.
      const all = JSON.parse(await list("-a", "--json", cache)) as {
        name: string;
        target: string;
      }[];
      assert.deepEqual(all.map((r) => [r.name, r.target]), [
        ["harness-hello", "haswell"],
        ["harness-libdep", "neoverse_v1"],
      ]);
      const host = JSON.parse(await list("--json", cache)) as { name: string }[];
      assert.deepEqual(host.map((r) => r.name), ["harness-hello"]);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test("list: SPEC arguments filter in Spack's syntax; a bad one is a usage error at its column", async () => {
  const cache = await mixedCache();
  try {
    assert.equal(
      await list("-a", cache, "harness-libdep"),
      `${LIBDEP_HEADER}\nharness-libdep@1.0\n`,
    );
    assert.equal(
      await list("-a", cache, "target=neoverse_v1", "harness-nothing"),
      `${LIBDEP_HEADER}\nharness-libdep@1.0\n`,
    );
    assert.equal(
      await list("-a", cache, "+shared %gcc@12"),
      `${HELLO_HEADER}\nharness-hello@1.0\n`,
    );
    assert.equal(await list("-a", cache, "harness-hello@2:"), "");
    const bad = await spackle("list", cache, "harness-hello@@1");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: .*column 15/m);
    assert.equal(bad.stdout, "");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
