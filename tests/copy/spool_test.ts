import assert from "node:assert/strict";
import { join } from "node:path";
import { spoolTarball } from "../../lib/copy/_spool.ts";
import { DigestMismatchError, FormatError } from "../../lib/errors.ts";
import { streamOf } from "../../lib/stream/io.ts";
import { seededRandom } from "../_support/random.ts";
import { withTempDir } from "../_support/temp.ts";

async function sh(script: string, cwd: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", script], cwd }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** A gzip tarball made by GNU tar and gzip, with its digests as sha256sum reports them. */
async function realTarball(work: string) {
  const random = seededRandom(7);
  const data = new Uint8Array(6 << 20);
  // Half noise, half text, so the stream is several MiB both compressed and not.
  for (let i = 0; i < data.length; i++) {
    data[i] = i < data.length / 2 ? Math.floor(random() * 256) : 97 + (i % 26);
  }
  await Deno.mkdir(join(work, "pkg/.spack"), { recursive: true });
  await Deno.writeFile(join(work, "pkg/data.bin"), data);
  // A package prefix, or the member check refuses it.
  await Deno.writeTextFile(join(work, "pkg/.spack/binary_distribution"), "{}\n");
  await sh("tar -cf pkg.tar pkg && gzip -6 -k pkg.tar", work);
  const hash = async (file: string) => (await sh(`sha256sum ${file}`, work)).split(" ")[0];
  return {
    path: join(work, "pkg.tar.gz"),
    sha256: await hash("pkg.tar.gz"),
    size: (await Deno.stat(join(work, "pkg.tar.gz"))).size,
    diffId: await hash("pkg.tar"),
  };
}

Deno.test("spoolTarball: copies the gzip bytes unchanged and hashes the tar inside", async () => {
  await withTempDir(async (work) => {
    const tarball = await realTarball(work);
    const out = join(work, "spooled");
    await Deno.writeFile(out, new Uint8Array());
    const source = (await Deno.open(tarball.path)).readable;
    const got = await spoolTarball(source, out, {
      digest: `sha256:${tarball.sha256}`,
      size: tarball.size,
    }, "test");
    assert.deepEqual(got, { ...tarball, path: out });
    assert.deepEqual(await Deno.readFile(out), await Deno.readFile(tarball.path));
  });
});

Deno.test("spoolTarball: a digest mismatch wins over the broken gzip stream it causes", async () => {
  await withTempDir(async (work) => {
    const tarball = await realTarball(work);
    const bytes = await Deno.readFile(tarball.path);
    bytes[bytes.length >> 1] ^= 0xff;
    const out = join(work, "spooled");
    await Deno.writeFile(out, new Uint8Array());
    await assert.rejects(
      spoolTarball(streamOf(bytes), out, { digest: `sha256:${tarball.sha256}` }, "corrupt"),
      (e) => e instanceof DigestMismatchError && e.expected === tarball.sha256,
    );
  });
});

Deno.test("spoolTarball: bytes that match their digest but are not gzip, or not the recorded size", async () => {
  await withTempDir(async (work) => {
    const out = join(work, "spooled");
    await Deno.writeFile(out, new Uint8Array());
    const text = new TextEncoder().encode("not a gzip stream\n".repeat(1000));
    await Deno.writeFile(join(work, "plain"), text);
    const digest = `sha256:${(await sh("sha256sum plain", work)).split(" ")[0]}`;
    await assert.rejects(
      spoolTarball(streamOf(text), out, { digest }, "plain"),
      (e) => e instanceof FormatError && /not a valid gzip stream/.test(e.message),
    );
    await assert.rejects(
      spoolTarball(streamOf(text), out, { digest, size: text.length + 1 }, "sized"),
      (e) => e instanceof FormatError && /its record says/.test(e.message),
    );
  });
});
