/**
 * Hostile build caches against the CLI, run as a user runs it: 50 altered copies of the Spack 1.2
 * `fs-unsigned` fixture (tarball members, compression and blob sizes, manifests, spec blobs,
 * buildinfo, the index) and three misbehaving registries. For every case and every command that
 * reads what was altered (`install`, `copy`, `image compose`), the command must:
 * - exit non-zero with one `error:` line naming the offending entry;
 * - write nothing outside its install root or target, and leave no staging directory, prefix or
 *   database record in the root (no manifest in a copy's destination, no tag in an image layout);
 * - leave the source cache byte for byte as it was.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  blobKey,
  findRecord,
  MEDIA_INDEX,
  parseManifest,
  serializeManifest,
} from "../../lib/buildcache/mod.ts";
import { gzipBytes } from "../../lib/stream/gzip.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { spackle } from "../_support/cli.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import {
  assertNothingInstalled,
  type CraftedMember,
  craftTarball,
  editSpecBlob,
  LIBDEP_PREFIX,
  libdepPackage,
  MANIFEST,
  replaceTarball,
  snapshot,
  writeBlob,
} from "../_support/hostile_cache.ts";
import { startFaultProxy, startRegistry } from "../_support/registry.ts";

type Command = "install" | "copy" | "compose";

interface HostileCase {
  /** What is wrong, as a sentence. */
  name: string;
  /** Alters `cache` (a fresh copy of fs-unsigned); `escape` is a directory nothing may reach. */
  alter(cache: string, escape: string): Promise<void>;
  /** The error line must match this: it names the offending entry. */
  names: RegExp;
  /** Commands that read the altered part (default: all three). */
  commands?: readonly Command[];
}

const P = LIBDEP_PREFIX;
const UP = "../".repeat(12);
const INDEX_MANIFEST = "v3/manifests/index/index.manifest.json";

/** Replaces harness-libdep's tarball with a crafted one. */
const members = (list: (escape: string) => CraftedMember[]) => async (c: string, e: string) =>
  await replaceTarball(c, MANIFEST.libdep, await craftTarball(list(e)));

/** Replaces harness-libdep's tarball with a package whose buildinfo is `text`. */
const buildinfo = (text: string) => members(() => libdepPackage([], text));

/** Edits harness-libdep's manifest JSON in place (checksums left as they are). */
const editManifest =
  (edit: (doc: { data: Record<string, unknown>[] }) => void) => async (cache: string) => {
    const path = join(cache, MANIFEST.libdep);
    const doc = JSON.parse(await Deno.readTextFile(path));
    edit(doc);
    await Deno.writeTextFile(path, JSON.stringify(doc));
  };

/** The real harness-libdep tarball bytes and its manifest record's checksum. */
async function libdepTarball(cache: string): Promise<{ bytes: Uint8Array; checksum: string }> {
  const doc = JSON.parse(await Deno.readTextFile(join(cache, MANIFEST.libdep)));
  const checksum = doc.data[0].checksum as string;
  return { bytes: await Deno.readFile(join(cache, blobKey("sha256", checksum))), checksum };
}

/** Edits the index JSON and republishes it under a correct index manifest. */
const editIndex = (edit: (text: string) => string) => async (cache: string) => {
  const path = join(cache, INDEX_MANIFEST);
  const manifest = parseManifest(await Deno.readTextFile(path), path);
  const record = findRecord(manifest, MEDIA_INDEX, path);
  const text = await Deno.readTextFile(join(cache, blobKey("sha256", record.checksum)));
  const bytes = new TextEncoder().encode(edit(text));
  const checksum = await writeBlob(cache, bytes);
  await Deno.writeTextFile(
    path,
    serializeManifest([{ ...record, checksum, contentLength: bytes.byteLength }]),
  );
};

const buildinfoText = (fields: string) =>
  `{${fields}, relocate_binaries: [], relocate_links: [], relocate_textfiles: []}\n`;
const ownPrefix = `hash_to_prefix: {${HARNESS.libdep}: /${P}}`;

const CASES: HostileCase[] = [
  // Tarball members.
  {
    name: "a member name that climbs out with ../",
    alter: members((e) =>
      libdepPackage([{ name: `${P}/${UP}${e.slice(1)}/dotdot`, type: "file", text: "x" }])
    ),
    names: /dotdot/,
  },
  {
    name: "an absolute member name",
    alter: members((e) => libdepPackage([{ name: `${e}/absolute`, type: "file", text: "x" }])),
    names: /absolute/,
  },
  {
    name: "a member outside the package prefix (etc/passwd)",
    alter: members(() =>
      libdepPackage([{ name: "etc/passwd", type: "file", text: "root::0:0::/:/bin/sh\n" }])
    ),
    names: /etc\/passwd/,
  },
  {
    name: "a member in a sibling prefix",
    alter: members(() =>
      libdepPackage([{ name: "opt/build/linux-x86_64/other-1.0-abc/x", type: "file", text: "x" }])
    ),
    names: /other-1\.0-abc/,
  },
  {
    name: "a character device",
    alter: members(() => libdepPackage([{ name: `${P}/kmem`, type: "chr" }])),
    names: /kmem/,
  },
  {
    name: "a block device",
    alter: members(() => libdepPackage([{ name: `${P}/sda`, type: "blk" }])),
    names: /sda/,
  },
  {
    name: "a FIFO",
    alter: members(() => libdepPackage([{ name: `${P}/pipe`, type: "fifo" }])),
    names: /pipe/,
  },
  {
    name: "a hard link to an absolute path",
    alter: members(() =>
      libdepPackage([{ name: `${P}/passwd-abs`, type: "hardlink", linkname: "/etc/passwd" }])
    ),
    names: /passwd-abs/,
  },
  {
    name: "a hard link to a member outside the prefix",
    alter: members(() =>
      libdepPackage([{ name: `${P}/passwd-rel`, type: "hardlink", linkname: "etc/passwd" }])
    ),
    names: /passwd-rel/,
  },
  {
    name: "a hard link whose target climbs out",
    alter: members(() =>
      libdepPackage([{
        name: `${P}/passwd-up`,
        type: "hardlink",
        linkname: `${P}/${UP}etc/passwd`,
      }])
    ),
    names: /passwd-up/,
  },
  {
    name: "a relative symlink that climbs out of the prefix",
    alter: members(() =>
      libdepPackage([{ name: `${P}/up`, type: "symlink", linkname: `${UP}etc` }])
    ),
    names: /up/,
  },
  {
    name: "a write through an absolute symlink",
    alter: members((e) =>
      libdepPackage([
        { name: `${P}/lib`, type: "symlink", linkname: e },
        { name: `${P}/lib/through`, type: "file", text: "x" },
      ])
    ),
    names: /lib\/through/,
  },
  {
    name: "a write through a symlink made by an earlier member's directory name",
    alter: members((e) =>
      libdepPackage([
        { name: `${P}/share`, type: "symlink", linkname: e },
        { name: `${P}/share/doc`, type: "dir" },
        { name: `${P}/share/doc/readme`, type: "file", text: "x" },
      ])
    ),
    names: /share\/doc/,
  },
  {
    name: "a package prefix that is itself a symlink",
    alter: members((e) => [
      { name: "opt", type: "dir" },
      { name: "opt/build", type: "dir" },
      { name: "opt/build/linux-x86_64", type: "dir" },
      { name: P, type: "symlink", linkname: e },
      { name: `${P}/.spack`, type: "dir" },
      {
        name: `${P}/.spack/binary_distribution`,
        type: "file",
        text: buildinfoText(`buildpath: /opt/build, ${ownPrefix}`),
      },
    ]),
    names: /harness-libdep/,
  },
  {
    name: "a symlinked .spack directory the buildinfo is written through",
    alter: members((e) => libdepPackage([{ name: `${P}/.spack`, type: "symlink", linkname: e }])),
    names: /\.spack/,
  },
  {
    name: "a long (PAX) member name that climbs out",
    alter: members((e) =>
      libdepPackage([{
        name: `${P}/${"deep/".repeat(30)}${"../".repeat(40)}${e.slice(1)}/pax`,
        type: "file",
        text: "x",
      }])
    ),
    names: /pax/,
  },
  {
    name: "a setuid program (kept bits cannot be stripped from a reused layer)",
    alter: members(() =>
      libdepPackage([{ name: `${P}/su`, type: "file", mode: 0o4755, text: "#!/bin/sh\n" }])
    ),
    names: /su/,
    commands: ["copy", "compose"],
  },
  {
    name: "a setgid directory",
    alter: members(() => libdepPackage([{ name: `${P}/shared`, type: "dir", mode: 0o2775 }])),
    names: /shared/,
    commands: ["copy", "compose"],
  },
  {
    name: "an empty tarball",
    alter: members(() => []),
    names: /harness-libdep/,
  },
  {
    name: "a tarball without .spack/binary_distribution",
    alter: members(
      () => [{ name: P, type: "dir" }, { name: `${P}/README`, type: "file", text: "x" }],
    ),
    names: /binary_distribution|harness-libdep/,
  },
  // Compression and blob sizes.
  {
    name: "a tarball that is not gzip",
    alter: async (c) =>
      await replaceTarball(c, MANIFEST.libdep, new TextEncoder().encode("not gzip at all")),
    names: /harness-libdep/,
  },
  {
    name: "a truncated gzip stream",
    alter: async (c) => {
      const { bytes } = await libdepTarball(c);
      await replaceTarball(c, MANIFEST.libdep, bytes.subarray(0, bytes.byteLength >> 1));
    },
    names: /harness-libdep/,
  },
  {
    name: "a gzip bomb (128 MiB of zeros in 130 KB)",
    alter: members(() =>
      libdepPackage([{ name: `${P}/zeros`, type: "file", size: 128 << 20, fill: "repeated" }])
    ),
    names: /harness-libdep.*more than/,
    commands: ["install"],
  },
  {
    name: "a blob longer than its manifest declares",
    alter: editManifest((doc) => (doc.data[0].contentLength as number) -= 100),
    names: /size mismatch/,
  },
  {
    name: "a blob shorter than its manifest declares",
    alter: editManifest((doc) => (doc.data[0].contentLength as number) += 100),
    names: /size mismatch/,
  },
  {
    name: "a blob whose bytes do not match its digest",
    alter: async (c) => {
      const { bytes, checksum } = await libdepTarball(c);
      const changed = bytes.slice();
      changed[changed.byteLength >> 1] ^= 0xff;
      await Deno.writeFile(join(c, blobKey("sha256", checksum)), changed);
    },
    names: /digest mismatch/,
  },
  {
    name: "a missing tarball blob",
    alter: async (c) =>
      await Deno.remove(join(c, blobKey("sha256", (await libdepTarball(c)).checksum))),
    names: /3c8d8d22|missing/,
  },
  {
    name: "a checksum that is a path out of the cache",
    alter: editManifest((doc) => (doc.data[0].checksum = "../../../../../../../etc/passwd")),
    names: /etc\/passwd/,
  },
  // Manifests.
  {
    name: "a manifest that is not JSON",
    alter: async (c) => await Deno.writeTextFile(join(c, MANIFEST.libdep), "{ this is not json"),
    names: /harness-libdep-1\.0-6zoo/,
  },
  {
    name: "a manifest without a tarball record",
    alter: editManifest((doc) => (doc.data = doc.data.slice(1))),
    names: /harness-libdep-1\.0-6zoo/,
  },
  {
    name: "a manifest with an md5 checksum",
    alter: editManifest((doc) => (doc.data[0].checksumAlgorithm = "md5")),
    names: /harness-libdep-1\.0-6zoo/,
  },
  {
    name: "another spec's manifest stored under this spec's key",
    alter: async (c) => await Deno.copyFile(join(c, MANIFEST.hello), join(c, MANIFEST.libdep)),
    names: /spec mismatch.*6zoocyj/,
  },
  // Spec blobs.
  {
    name: "a spec blob whose root claims another hash",
    alter: async (c) =>
      await editSpecBlob(c, MANIFEST.libdep, (doc) => (doc.spec.nodes[0].hash = "a".repeat(32))),
    names: /spec mismatch/,
  },
  {
    name: "a spec blob whose content was edited (the hash no longer matches)",
    alter: async (c) =>
      await editSpecBlob(c, MANIFEST.libdep, (doc) => (doc.spec.nodes[0].version = "9.9")),
    names: /spec mismatch/,
  },
  {
    name: "a spec blob with a forged dependency node",
    alter: async (c) =>
      await editSpecBlob(c, MANIFEST.libdep, (doc) => {
        const glibc = doc.spec.nodes.find((n) => n.name === "glibc")!;
        glibc.external = { path: "/evil", module: null, extra_attributes: {} };
      }),
    names: /spec mismatch/,
  },
  {
    name: "a spec blob that renames the package",
    alter: async (c) =>
      await editSpecBlob(c, MANIFEST.libdep, (doc) => (doc.spec.nodes[0].name = "harness-evil")),
    names: /spec mismatch|harness-evil/,
  },
  {
    name: "a spec blob that is not JSON",
    alter: async (c) => {
      const path = join(c, MANIFEST.libdep);
      const doc = JSON.parse(await Deno.readTextFile(path));
      const blob = gzipBytes("not json");
      doc.data[1] = {
        ...doc.data[1],
        checksum: await writeBlob(c, blob),
        contentLength: blob.byteLength,
      };
      await Deno.writeTextFile(path, JSON.stringify(doc));
    },
    names: /harness-libdep|JSON/,
  },
  // Buildinfo (relocation prefixes): only install relocates.
  {
    name: "a buildpath of /",
    alter: buildinfo(buildinfoText(`buildpath: /, ${ownPrefix}`)),
    names: /refusing relocation prefix "\/"/,
    commands: ["install"],
  },
  {
    name: "a buildpath that is a system directory (/usr/lib)",
    alter: buildinfo(buildinfoText(`buildpath: /usr/lib, ${ownPrefix}`)),
    names: /refusing relocation prefix "\/usr\/lib"/,
    commands: ["install"],
  },
  {
    name: "a relative buildpath",
    alter: buildinfo(buildinfoText(`buildpath: opt/build, ${ownPrefix}`)),
    names: /refusing relocation prefix "opt\/build"/,
    commands: ["install"],
  },
  {
    name: "an own prefix other than the one its members live in",
    alter: buildinfo(
      buildinfoText(
        `buildpath: /opt/build, hash_to_prefix: {${HARNESS.libdep}: /opt/build/elsewhere/pkg}`,
      ),
    ),
    names: /elsewhere/,
    commands: ["install"],
  },
  {
    name: "a text file to relocate outside the prefix",
    alter: buildinfo(
      `{buildpath: /opt/build, ${ownPrefix}, relocate_binaries: [], relocate_links: [], relocate_textfiles: [${UP}etc/passwd]}\n`,
    ),
    names: /etc\/passwd/,
    commands: ["install"],
  },
  {
    name: "a link to relocate given as an absolute path",
    alter: buildinfo(
      `{buildpath: /opt/build, ${ownPrefix}, relocate_binaries: [], relocate_links: [/etc/passwd], relocate_textfiles: []}\n`,
    ),
    names: /etc\/passwd/,
    commands: ["install"],
  },
  {
    name: "a buildinfo that is not YAML",
    alter: buildinfo("{{{ not: yaml ]\n"),
    names: /binary_distribution/,
    commands: ["install"],
  },
  // The index.
  {
    name: "an index record filed under another hash",
    alter: editIndex((text) => text.replaceAll(`"${HARNESS.libdep}":`, `"${"b".repeat(32)}":`)),
    names: /index/,
  },
  {
    name: "an index that is not JSON",
    alter: editIndex(() => "[not json"),
    names: /index/,
  },
];

/** What a command left behind that it must not have. */
async function leftovers(command: Command, out: string): Promise<void> {
  if (command === "install") return await assertNothingInstalled(out);
  if (command === "copy") {
    const libdep = join(out, MANIFEST.libdep);
    await assert.rejects(
      Deno.stat(libdep),
      Deno.errors.NotFound,
      "no harness-libdep manifest copied",
    );
    return;
  }
  const index = await Deno.readTextFile(join(out, "index.json")).catch(() => "{}");
  assert.deepEqual(JSON.parse(index).manifests ?? [], [], "no image tagged");
}

function argv(command: Command, cache: string, out: string): string[] {
  if (command === "install") {
    return ["install", cache, "harness-hello", "--root", out, "--no-check-signature"];
  }
  if (command === "copy") return ["copy", cache, out];
  return [
    "image",
    "compose",
    "harness-hello",
    "--from",
    cache,
    "--target",
    `oci-layout:${out}`,
    "--tag",
    "t",
  ];
}

/** Runs `command` against a fresh hostile copy for `c`; returns a failure text or undefined. */
async function tryCase(
  c: HostileCase,
  command: Command,
  work: string,
): Promise<string | undefined> {
  const dir = await Deno.makeTempDir({ dir: work });
  const escape = join(dir, "escape");
  await Deno.mkdir(escape);
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    await c.alter(cache, escape);
    const before = await snapshot(cache);
    const out = join(dir, "out");
    const run = await spackle(...argv(command, cache, out));
    const errors = run.stderr.split("\n").filter((l) => l.startsWith("error:"));
    if (run.code === 0) return `exited 0\n${run.stderr}`;
    if (errors.length !== 1) return `expected one error line, got:\n${run.stderr}`;
    if (!c.names.test(errors[0])) return `error does not name the entry (${c.names}): ${errors[0]}`;
    if (/TypeError|Uncaught|^ {4}at /m.test(run.stderr)) return `crashed:\n${run.stderr}`;
    await leftovers(command, out);
    assert.deepEqual([...Deno.readDirSync(escape)], [], "nothing escaped");
    assert.deepEqual(await snapshot(cache), before, "the source cache is unchanged");
  } catch (e) {
    return (e as Error).message;
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}

/** Runs every case a command reads, four at a time; fails listing every case that failed. */
async function runAll(command: Command): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "spackle-hostile-" });
  const passwd = sha256Hex(await Deno.readFile("/etc/passwd"));
  try {
    const cases = CASES.filter((c) =>
      (c.commands ?? ["install", "copy", "compose"]).includes(command)
    );
    const failures: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const failure = await tryCase(c, command, work);
        if (failure) failures.push(`${c.name}: ${failure}`);
      }
    }));
    assert.equal(sha256Hex(await Deno.readFile("/etc/passwd")), passwd);
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases`);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("hostile caches: install refuses every case, naming it, leaving nothing", async () => {
  assert.ok(CASES.length >= 45);
  await runAll("install");
});

Deno.test("hostile caches: copy refuses every case it reads, naming it, copying nothing of it", async () => {
  await runAll("copy");
});

Deno.test("hostile caches: image compose refuses every case it reads, tagging nothing", async () => {
  await runAll("compose");
});

Deno.test("hostile registries: corrupt blobs, a tag holding another spec, cut downloads", async () => {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  const work = await Deno.makeTempDir({ prefix: "spackle-hostile-registry-" });
  try {
    const repo = `oci+http://${registry.host}/cache`;
    const copied = await spackle("copy", join(SPACK12, "fs-unsigned"), repo);
    assert.equal(copied.code, 0, copied.stderr);
    const viaProxy = `oci+http://${proxy.host}/cache`;
    const install = async (mirror: string, root: string) =>
      await spackle("install", mirror, "harness-hello", "--root", root, "--no-check-signature");

    // Every blob answer corrupted: the digest check refuses the tarball.
    proxy.inject({
      kind: "corrupt",
      atByte: 100,
      times: 1000,
      match: { method: "GET", path: /\/blobs\/sha256:/ },
    });
    let root = join(work, "corrupt");
    let run = await install(viaProxy, root);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /error: .*(digest mismatch|harness-libdep)/);
    await assertNothingInstalled(root);

    // Every blob download cut after 200 bytes: it retries, resumes, then gives up cleanly.
    const proxy2 = startFaultProxy(registry.url);
    try {
      proxy2.inject({
        kind: "cut",
        afterBytes: 200,
        times: 1000,
        match: { method: "GET", path: /\/blobs\/sha256:/ },
      });
      root = join(work, "cut");
      run = await install(`oci+http://${proxy2.host}/cache`, root);
      assert.notEqual(run.code, 0);
      assert.equal(
        run.stderr.split("\n").filter((l) => l.startsWith("error:")).length,
        1,
        run.stderr,
      );
      await assertNothingInstalled(root);
    } finally {
      await proxy2.stop();
    }

    // The libdep tag re-pointed at hello's image: the spec inside is not the one asked for.
    const tags = `http://${registry.host}/v2/cache`;
    const accept = { Accept: "application/vnd.oci.image.manifest.v1+json" };
    const libdepTag = `harness-libdep-1.0-${HARNESS.libdep}.spack`;
    const helloTag = `harness-hello-1.0-${HARNESS.hello}.spack`;
    const hello = await (await fetch(`${tags}/manifests/${helloTag}`, { headers: accept })).text();
    const put = await fetch(`${tags}/manifests/${libdepTag}`, {
      method: "PUT",
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      body: hello,
    });
    assert.ok(put.ok);
    root = join(work, "swapped");
    run = await install(repo, root);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /error: .*spec mismatch/);
    await assertNothingInstalled(root);
  } finally {
    await proxy.stop();
    await registry.stop();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("install --max-expansion raises the expansion limit for a genuine, very compressible package", async () => {
  const work = await Deno.makeTempDir({ prefix: "spackle-expansion-" });
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    await members(() =>
      libdepPackage([{ name: `${P}/zeros`, type: "file", size: 128 << 20, fill: "repeated" }])
    )(cache, work);
    const root = join(work, "root");
    const args = ["install", cache, "harness-libdep", "--root", root, "--no-check-signature"];
    const refused = await spackle(...args);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--max-expansion|maxExpansion/);
    const raised = await spackle(...args, "--max-expansion", "5000");
    assert.equal(raised.code, 0, raised.stderr);
  } finally {
    await Deno.remove(work, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});
