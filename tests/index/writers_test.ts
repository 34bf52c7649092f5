import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OciMirror } from "../../lib/mirror/oci.ts";
import { UrlMirror } from "../../lib/mirror/url.ts";
import type { Mirror } from "../../lib/mirror/types.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { S3Store } from "../../lib/storage/s3.ts";
import { startRegistry } from "../_support/registry.ts";
import { S3RVER_KEYS, startS3 } from "../_support/s3.ts";
import { withTempDir } from "../_support/temp.ts";
import type { ObjectStore } from "../../lib/storage/types.ts";
import { pushSynthetic, syntheticSpecs } from "./_synthetic.ts";

const PUSHER = fileURLToPath(new URL("./_pusher.ts", import.meta.url));

/** Runs four pusher processes at once; returns every hash they pushed. */
async function pushConcurrently(
  job: { url: string; s3Endpoint?: string; indexEach: boolean },
  count: number,
): Promise<string[]> {
  const runs = ["a", "b", "c", "d"].map((prefix, i) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", PUSHER, JSON.stringify({ ...job, seed: i + 1, count, prefix })],
      stdout: "piped",
      stderr: "piped",
    }).output()
  );
  const hashes: string[] = [];
  for (const out of await Promise.all(runs)) {
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    hashes.push(...JSON.parse(new TextDecoder().decode(out.stdout)));
  }
  return hashes;
}

async function assertIndexed(mirror: Mirror, pushed: string[]): Promise<void> {
  const listed = new Set((await mirror.listSpecs()).map((s) => s.node.hash));
  assert.deepEqual(pushed.filter((h) => !listed.has(h)), [], "specs missing from the index");
  assert.equal(listed.size, pushed.length);
}

/**
 * Writer A lists the cache, then writer B pushes a spec and updates the index before A writes
 * its index (A's store runs B in the middle of A's conditional write). A must notice and merge.
 */
async function raceTwoWriters(open: () => ObjectStore & { beforeSwap?: () => Promise<void> }) {
  const a = open();
  const b = new UrlMirror(open());
  const [first, second] = [syntheticSpecs(3, 11, "a"), syntheticSpecs(3, 12, "b")];
  await pushSynthetic(new UrlMirror(a), first);
  let raced = false;
  a.beforeSwap = async () => {
    if (raced) return;
    raced = true;
    await pushSynthetic(b, second);
    assert.equal(await b.updateIndex(), 6);
  };
  assert.equal(await new UrlMirror(a).updateIndex(), 6);
  assert.ok(raced);
  await assertIndexed(b, [...first, ...second].map((s) => s.node.hash));
}

Deno.test("an index update that lost a race with another writer merges its index (filesystem)", async () => {
  await withTempDir(async (dir) => {
    class RacingFsStore extends FsStore {
      beforeSwap?: () => Promise<void>;
      override async putIfVersion(key: string, bytes: Uint8Array, version?: string) {
        await this.beforeSwap?.();
        return await super.putIfVersion(key, bytes, version);
      }
    }
    await raceTwoWriters(() => new RacingFsStore(dir));
  });
});

Deno.test("an index update that lost a race with another writer merges its index (S3)", async () => {
  const s3 = await startS3(["cache"], { conditionalWrites: true });
  try {
    class RacingS3Store extends S3Store {
      beforeSwap?: () => Promise<void>;
      override async putIfVersion(key: string, bytes: Uint8Array, version?: string) {
        await this.beforeSwap?.();
        return await super.putIfVersion(key, bytes, version);
      }
    }
    await raceTwoWriters(() =>
      new RacingS3Store("s3://cache/race", { endpointUrl: s3.endpoint, env: {}, ...S3RVER_KEYS })
    );
  } finally {
    await s3.stop();
  }
});

Deno.test("four processes pushing to one directory, each updating the index per spec, lose nothing", async () => {
  await withTempDir(async (dir) => {
    const cache = join(dir, "cache");
    const pushed = await pushConcurrently({ url: cache, indexEach: true }, 20);
    await assertIndexed(new UrlMirror(new FsStore(cache)), pushed);
    for await (const e of Deno.readDir(join(cache, "v3/manifests/index"))) {
      assert.ok(!e.name.endsWith(".lock"), `lock ${e.name} left behind`);
    }
  });
});

Deno.test("four processes pushing to one S3 bucket, each updating the index per spec (conditional PUTs), lose nothing", async () => {
  const s3 = await startS3(["cache"], { conditionalWrites: true });
  try {
    const url = "s3://cache/build";
    const pushed = await pushConcurrently({ url, s3Endpoint: s3.endpoint, indexEach: true }, 8);
    const store = new S3Store(url, { endpointUrl: s3.endpoint, env: {}, ...S3RVER_KEYS });
    await assertIndexed(new UrlMirror(store), pushed);
  } finally {
    await s3.stop();
  }
});

Deno.test("four processes pushing to one registry repository, each then updating index.spack, lose nothing", async () => {
  const registry = await startRegistry();
  try {
    const url = `oci+http://${registry.host}/spack/cache`;
    const pushed = await pushConcurrently({ url, indexEach: false }, 20);
    await assertIndexed(new OciMirror(url), pushed);
  } finally {
    await registry.stop();
  }
});
