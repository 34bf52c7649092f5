/**
 * A synthetic Spack install tree of a requested size, for measuring push and install: a "moved
 * store" whose database and files record the padded root `paddedRoot("/opt/bench/store", 128)`
 * while the files live in a temporary directory (what {@link openStore} detects from the
 * database paths).
 *
 * Two specs, `bench-lib` and `bench-app` (which depends on it for link and run), each holding:
 * copies of real ELF shared libraries from the system library directory with the recorded prefix
 * appended as C strings and as an RPATH-like `a/lib:b/lib` string (push lists them in
 * `relocate_binaries`); generated C headers, some mentioning the prefixes (text relocation), all
 * compressible about 4:1 by gzip; and incompressible data files. Content is deterministic.
 *
 *     deno run -A bench/_synthetic_store.ts --mb 300 [--out DIR]
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { base32, dagHash } from "../lib/spec/hash.ts";
import { compactJson } from "../lib/spec/json.ts";
import { type ConcreteSpec, type SpecNode, toSpecFile } from "../lib/spec/spec.ts";
import {
  type InstallDatabase,
  mergeSpecs,
  openStore,
  paddedRoot,
  relativePrefix,
  writeDatabase,
} from "../lib/store/mod.ts";
import { seededRandom } from "../tests/_support/random.ts";

/** The unpadded install root the synthetic store records (its files mention it). */
export const SYNTHETIC_UNPADDED_ROOT = "/opt/bench/store";

/** Where the real ELF libraries that are copied into the store come from. */
const SYSTEM_LIBRARIES = "/usr/lib/x86_64-linux-gnu";
/** Smallest library copied: tiny libraries would only add per-file overhead. */
const MIN_LIBRARY_BYTES = 64 * 1024;
/** Size of the byte pools file contents are cut from (far beyond gzip's 32 KiB window). */
const POOL_BYTES = 4 * 1024 * 1024;

/** Shares of the tree's bytes by kind of content; normalised, so they need not add up to 1. */
export interface ContentMix {
  /** Copies of real ELF shared libraries (compress about 2–3:1). */
  elf: number;
  /** Generated C headers (compress about 4:1); every third mentions the install prefixes. */
  text: number;
  /** Incompressible data files. */
  random: number;
}

/** Options of {@link createSyntheticStore}. */
export interface SyntheticStoreOptions {
  /** Total bytes of the specs' files, in MB (10^6 bytes); reached within a few KB. */
  mb: number;
  /** Content shares; default `{elf: 0.45, text: 0.25, random: 0.30}`. */
  mix?: ContentMix;
  /** Share of the bytes in `bench-app` (the rest is in `bench-lib`); default 0.3. */
  appShare?: number;
  /** Bytes of each incompressible data file (the last one takes the rest); default 8 MiB. */
  dataFileBytes?: number;
}

/** One installed spec of a synthetic store. */
export interface SyntheticSpec {
  /** The concrete spec (its DAG includes its dependency). */
  spec: ConcreteSpec;
  /** The recorded prefix (below the padded root; the files mention it). */
  prefix: string;
  /** Where the prefix is on disk. */
  dir: string;
  /** Bytes of its regular files, `.spack/` included. */
  bytes: number;
  /** Number of its regular files. */
  files: number;
}

/** A synthetic store made by {@link createSyntheticStore}. */
export interface SyntheticStore {
  /** Directory to pass to `openStore` (holds the unpadded root's contents). */
  dir: string;
  /** The recorded (padded) install root, 128 characters. */
  root: string;
  /** Dependencies first: `bench-lib`, then `bench-app`. */
  specs: SyntheticSpec[];
  /** Bytes of all regular files of the specs: the uncompressed size of the tree. */
  bytes: number;
  /** Number of regular files. */
  files: number;
}

/**
 * Writes a synthetic install tree of about `options.mb` MB into `dir` (created; must not exist
 * or be empty), with its install-tree database at the padded root below it.
 *
 * @throws {Error} when the system library directory holds no ELF libraries to copy.
 */
export async function createSyntheticStore(
  dir: string,
  options: SyntheticStoreOptions,
): Promise<SyntheticStore> {
  const mix = normalise(options.mix ?? { elf: 0.45, text: 0.25, random: 0.3 });
  const appShare = options.appShare ?? 0.3;
  const total = Math.round(options.mb * 1e6);
  const root = paddedRoot(SYNTHETIC_UNPADDED_ROOT, 128);
  const diskRoot = join(dir, root.slice(SYNTHETIC_UNPADDED_ROOT.length + 1));
  await Deno.mkdir(diskRoot, { recursive: true });

  const lib = concrete(node("bench-lib", "1.0", []));
  const app = concrete(node("bench-app", "2.0", [lib.node]), lib);
  const pools = { random: randomPool(1), text: textPool(2), libraries: await systemLibraries() };
  const plan = [
    { spec: lib, bytes: Math.round(total * (1 - appShare)), deps: [] as ConcreteSpec[] },
    { spec: app, bytes: Math.round(total * appShare), deps: [lib] },
  ];
  const specs: SyntheticSpec[] = [];
  for (const [index, { spec, bytes, deps }] of plan.entries()) {
    const rel = relativePrefix(spec.node);
    const writer = new PrefixWriter(join(diskRoot, rel), pools, 100 + index);
    const prefix = `${root}/${rel}`;
    const depPrefixes = deps.map((d) => `${root}/${relativePrefix(d.node)}`);
    await writer.fill(spec, prefix, depPrefixes, bytes, mix, options.dataFileBytes ?? 8 << 20);
    specs.push({ spec, prefix, dir: writer.dir, bytes: writer.bytes, files: writer.files });
  }

  return await finishStore(dir, diskRoot, root, specs, app);
}

/** Writes the database of `specs` (all under `top`'s DAG, `top` explicit) and sums the tree. */
async function finishStore(
  dir: string,
  diskRoot: string,
  root: string,
  specs: SyntheticSpec[],
  top: ConcreteSpec,
): Promise<SyntheticStore> {
  const db: InstallDatabase = { version: "8", installs: new Map() };
  const prefixes = new Map(specs.map((s) => [s.spec.node.hash, s.prefix]));
  mergeSpecs(db, [top], new Set([top.node.hash]), (n) => ({
    path: prefixes.get(n.hash) ?? null,
    installed: prefixes.has(n.hash),
  }));
  await writeDatabase(diskRoot, db);
  return {
    dir,
    root,
    specs,
    bytes: specs.reduce((sum, s) => sum + s.bytes, 0),
    files: specs.reduce((sum, s) => sum + s.files, 0),
  };
}

/** Options of {@link createSyntheticDag}. */
export interface SyntheticDagOptions {
  /** Number of specs, the root included (at least 2). */
  specs: number;
  /** Bytes of each spec's files, in KB (10^3 bytes); default 150. */
  kbPerSpec?: number;
  /** Most direct dependencies of a spec, picked among the earlier ones; default 3. */
  maxDependencies?: number;
  /** Content shares; default as {@link createSyntheticStore}. */
  mix?: ContentMix;
}

/**
 * Writes a synthetic install tree of many small specs into `dir`, as {@link createSyntheticStore}
 * does for two large ones: `bench-dep-0` … `bench-dep-<n-2>`, each depending (link and run) on up
 * to `maxDependencies` earlier ones, so dependencies are shared, and `bench-root`, depending on
 * every spec nothing else depends on, so its closure is the whole tree. The content and the DAG
 * are deterministic. `specs` lists dependencies first; the root is last.
 */
export async function createSyntheticDag(
  dir: string,
  options: SyntheticDagOptions,
): Promise<SyntheticStore> {
  const count = Math.max(2, Math.floor(options.specs));
  const budget = Math.round((options.kbPerSpec ?? 150) * 1e3);
  const mix = normalise(options.mix ?? { elf: 0.45, text: 0.25, random: 0.3 });
  const root = paddedRoot(SYNTHETIC_UNPADDED_ROOT, 128);
  const diskRoot = join(dir, root.slice(SYNTHETIC_UNPADDED_ROOT.length + 1));
  await Deno.mkdir(diskRoot, { recursive: true });
  const pools = { random: randomPool(1), text: textPool(2), libraries: await systemLibraries() };
  const next = seededRandom(3);

  const built: ConcreteSpec[] = [];
  const dependedOn = new Set<number>();
  const plan = (i: number): number[] => {
    if (i === count - 1) return built.map((_, at) => at).filter((at) => !dependedOn.has(at));
    const picks = new Set<number>();
    const wanted = Math.floor(next() * ((options.maxDependencies ?? 3) + 1));
    for (let k = 0; k < wanted && i > 0; k++) picks.add(Math.floor(next() * i));
    return [...picks].sort((a, b) => a - b);
  };
  const specs: SyntheticSpec[] = [];
  for (let i = 0; i < count; i++) {
    const deps = plan(i).map((at) => (dependedOn.add(at), built[at]));
    const name = i === count - 1 ? "bench-root" : `bench-dep-${i}`;
    const spec = concrete(node(name, "1.0", deps.map((d) => d.node)), ...deps);
    built.push(spec);
    const rel = relativePrefix(spec.node);
    const writer = new PrefixWriter(join(diskRoot, rel), pools, 100 + i);
    const prefix = `${root}/${rel}`;
    const depPrefixes = deps.map((d) => `${root}/${relativePrefix(d.node)}`);
    await writer.fill(spec, prefix, depPrefixes, budget, mix, 8 << 20);
    specs.push({ spec, prefix, dir: writer.dir, bytes: writer.bytes, files: writer.files });
  }

  return await finishStore(dir, diskRoot, root, specs, built[count - 1]);
}

function normalise(mix: ContentMix): ContentMix {
  const sum = mix.elf + mix.text + mix.random;
  if (!(sum > 0) || [mix.elf, mix.text, mix.random].some((v) => v < 0)) {
    throw new RangeError(`content mix must be non-negative and not all zero`);
  }
  return { elf: mix.elf / sum, text: mix.text / sum, random: mix.random / sum };
}

/** A node in Spack's serialisation order (build cache format reference §3.2), hashed. */
function node(name: string, version: string, deps: SpecNode[]): SpecNode {
  const n: Record<string, unknown> = {
    name,
    version,
    arch: { platform: "linux", platform_os: "debian12", target: "x86_64" },
    namespace: "spackle_bench",
    parameters: { build_system: "generic", cflags: [], cppflags: [], cxxflags: [], ldflags: [] },
    package_hash: base32(new Uint8Array(createHash("sha256").update(name).digest())) + "====",
  };
  if (deps.length) {
    n.dependencies = deps.map((d) => ({
      name: d.name,
      hash: d.hash,
      parameters: { deptypes: ["build", "link", "run"], virtuals: [] },
    }));
  }
  n.annotations = { original_specfile_version: 5 };
  n.hash = dagHash(n);
  return n as SpecNode;
}

function concrete(root: SpecNode, ...deps: ConcreteSpec[]): ConcreteSpec {
  const nodes = new Map<string, SpecNode>([[root.hash, root]]);
  for (const d of deps) for (const [h, n] of d.nodes) nodes.set(h, n);
  return { node: root, nodes };
}

/** Pseudo-random bytes; files cut from it at different offsets stay incompressible to gzip. */
function randomPool(seed: number): Uint8Array {
  const next = seededRandom(seed);
  const words = new Uint32Array(POOL_BYTES / 4);
  for (let i = 0; i < words.length; i++) words[i] = next() * 4294967296;
  return new Uint8Array(words.buffer);
}

/** C-like declarations over a small vocabulary: gzip -6 packs them about 4:1. */
function textPool(seed: number): Uint8Array {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const words = (
    "buffer stream index table node entry value state count offset header block cache " +
    "layout record digest prefix target source mode flags limit queue frame token scope " +
    "field chunk length handle"
  ).split(" ");
  const types = ["int", "size_t", "uint32_t", "double", "const char *", "void *", "bool"];
  const ident = () => `${pick(words)}_${pick(words)}${next() < 0.3 ? Math.floor(next() * 64) : ""}`;
  const lines: string[] = [];
  let length = 0;
  while (length < POOL_BYTES) {
    const r = next();
    const line = r < 0.5
      ? `${pick(types)} ${ident()}(${pick(types)} ${pick(words)}, ${pick(types)} ${pick(words)});`
      : r < 0.8
      ? `/* ${Array.from({ length: 4 + Math.floor(next() * 8) }, () => pick(words)).join(" ")} */`
      : `#define ${ident().toUpperCase()} 0x${Math.floor(next() * 0xffffff).toString(16)}`;
    lines.push(line);
    length += line.length + 1;
  }
  return new TextEncoder().encode(lines.join("\n").slice(0, POOL_BYTES));
}

/** A copyable system library. */
interface Library {
  path: string;
  name: string;
  size: number;
}

/** Regular ELF files named `*.so*` of at least 64 KiB, by name. */
async function systemLibraries(): Promise<Library[]> {
  const found: Library[] = [];
  for await (const entry of Deno.readDir(SYSTEM_LIBRARIES)) {
    if (!entry.isFile || !/\.so(\.|$)/.test(entry.name)) continue;
    const path = join(SYSTEM_LIBRARIES, entry.name);
    const { size } = await Deno.stat(path);
    if (size < MIN_LIBRARY_BYTES) continue;
    const head = new Uint8Array(4);
    using file = await Deno.open(path);
    if ((await file.read(head)) === 4 && head[0] === 0x7f && head[1] === 0x45) {
      found.push({ path, name: entry.name, size });
    }
  }
  if (!found.length) throw new Error(`no ELF shared libraries found in ${SYSTEM_LIBRARIES}`);
  return found.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Writes the files of one prefix and counts them. */
class PrefixWriter {
  bytes = 0;
  files = 0;
  readonly #next: () => number;

  constructor(
    readonly dir: string,
    readonly pools: { random: Uint8Array; text: Uint8Array; libraries: Library[] },
    seed: number,
  ) {
    this.#next = seededRandom(seed);
  }

  async fill(
    spec: ConcreteSpec,
    prefix: string,
    depPrefixes: string[],
    budget: number,
    mix: ContentMix,
    dataFileBytes: number,
  ): Promise<void> {
    const name = spec.node.name;
    for (const sub of ["bin", "lib/pkgconfig", `include/${name}`, `share/${name}/data`, ".spack"]) {
      await Deno.mkdir(join(this.dir, sub), { recursive: true });
    }
    await this.#write(".spack/spec.json", compactJson(toSpecFile(spec)));
    await this.#write(".spack/spack-build-out.txt", `==> ${name}: synthetic build\n`);
    const rpath = [prefix, ...depPrefixes].map((p) => `${p}/lib`).join(":");
    await this.#write(
      `lib/pkgconfig/${name}.pc`,
      `prefix=${prefix}\nlibdir=\${prefix}/lib\nLibs: -L\${libdir} -Wl,-rpath,${rpath}\n`,
    );
    await this.#write(
      `bin/${name}-config`,
      `#!/bin/sh\necho "${prefix}"\nexec "${prefix}/lib/run" "$@"\n`,
      0o755,
    );
    for (const dep of depPrefixes) {
      await Deno.symlink(`${dep}/lib`, join(this.dir, `lib/${dep.split("/").pop()}-lib`));
    }
    const rest = budget - this.bytes;
    await this.#libraries(Math.round(rest * mix.elf), prefix, rpath, name);
    await this.#headers(Math.round(rest * mix.text), prefix, depPrefixes, name);
    await this.#data(budget - this.bytes, dataFileBytes, name);
  }

  /** Real libraries with the prefix strings appended (the ELF headers stay valid). */
  async #libraries(budget: number, prefix: string, rpath: string, name: string): Promise<void> {
    const trailer = new TextEncoder().encode(
      `\0${prefix}/lib\0${rpath}\0${prefix}/share/${name}/data\0`,
    );
    const libraries = this.pools.libraries;
    const largest = Math.max(budget / 3, MIN_LIBRARY_BYTES + trailer.length);
    const fits = () =>
      libraries.filter((l) => l.size + trailer.length <= Math.min(budget, largest));
    let copies = 0;
    for (let round = 0; fits().length; round++) {
      for (const library of fits()) {
        if (library.size + trailer.length > budget) continue;
        const file = round === 0 ? library.name : `${library.name}.${round}`;
        const body = await Deno.readFile(library.path);
        const out = new Uint8Array(body.length + trailer.length);
        out.set(body);
        out.set(trailer, body.length);
        await this.#write(`lib/${file}`, out, 0o755);
        budget -= out.length;
        // The usual development symlink, for the first copy of each versioned library.
        const stem = /^(.*\.so)\.\d/.exec(file)?.[1];
        if (round === 0 && stem && copies++ % 4 === 0) {
          await Deno.symlink(file, join(this.dir, "lib", stem)).catch(() => {});
        }
      }
    }
  }

  /** Headers of 8–96 KiB cut from the text pool; every third names the prefixes. */
  async #headers(budget: number, prefix: string, depPrefixes: string[], name: string) {
    const pool = this.pools.text;
    const encoder = new TextEncoder();
    for (let i = 0; budget > 0; i++) {
      const head = encoder.encode(
        i % 3 === 0
          ? `/* ${name} */\n#define INSTALL_PREFIX "${prefix}"\n` +
            depPrefixes.map((d) => `#include "${d}/include/config.h"\n`).join("")
          : `/* ${name} header ${i} */\n`,
      );
      const size = Math.min(budget, Math.floor(8192 + this.#next() * 90112));
      const bodyLength = Math.max(0, size - head.length);
      const start = Math.floor(this.#next() * (pool.length - bodyLength));
      const out = new Uint8Array(head.length + bodyLength);
      out.set(head);
      out.set(pool.subarray(start, start + bodyLength), head.length);
      await this.#write(`include/${name}/module_${String(i).padStart(5, "0")}.h`, out);
      budget -= out.length;
    }
  }

  /** Incompressible files cut from the random pool, each from another offset. */
  async #data(budget: number, fileBytes: number, name: string): Promise<void> {
    const pool = this.pools.random;
    for (let i = 0; budget > 0; i++) {
      const size = Math.min(budget, fileBytes);
      const path = join(this.dir, `share/${name}/data/part_${String(i).padStart(4, "0")}.bin`);
      using file = await Deno.open(path, { write: true, createNew: true });
      let offset = Math.floor(this.#next() * pool.length);
      for (let left = size; left > 0;) {
        const piece = pool.subarray(offset, offset + Math.min(left, pool.length - offset));
        for (let done = 0; done < piece.length;) done += await file.write(piece.subarray(done));
        left -= piece.length;
        offset = 0;
      }
      this.bytes += size;
      this.files++;
      budget -= size;
    }
  }

  async #write(rel: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await Deno.writeFile(join(this.dir, rel), bytes, { mode, createNew: true });
    this.bytes += bytes.length;
    this.files++;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { mb: { type: "string", default: "300" }, out: { type: "string" } },
  });
  const out = values.out ?? await Deno.makeTempDir({ prefix: "spackle-synthetic-" });
  const started = performance.now();
  const made = await createSyntheticStore(out, { mb: Number(values.mb) });
  const store = await openStore(out);
  console.log(
    `${made.bytes} bytes in ${made.files} files, ${made.specs.length} specs, in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s\nstore ${out}\nrecorded root ${store.root}`,
  );
  for (const s of made.specs) console.log(`  ${s.spec.node.name}  ${s.bytes} bytes  ${s.prefix}`);
}
