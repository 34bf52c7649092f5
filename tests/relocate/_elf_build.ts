/**
 * Test helpers: build real ELF files with gcc, read them back with binutils `readelf` (an
 * independent parser), and write tiny synthetic ELF files for the byte orders and classes gcc
 * cannot produce on this host (checked with readelf too).
 *
 * @module
 */

/** Output of a finished process. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` with `args`; never throws on a non-zero exit. */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.env !== undefined,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Runs gcc in `cwd`; throws with gcc's diagnostics if it fails. */
export async function gcc(cwd: string, args: string[]): Promise<void> {
  const out = await run("gcc", args, { cwd });
  if (out.code !== 0) throw new Error(`gcc ${args.join(" ")} failed:\n${out.stderr}`);
}

/** Writes `source` to `<dir>/<name>.c`, builds `<dir>/<name>` with `flags`, returns its path. */
export async function compile(
  dir: string,
  name: string,
  source: string,
  flags: string[],
): Promise<string> {
  await Deno.writeTextFile(`${dir}/${name}.c`, source);
  await gcc(dir, ["-o", name, `${name}.c`, ...flags]);
  return `${dir}/${name}`;
}

/** The smallest C program: an executable that does nothing. */
export const EMPTY_MAIN = "int main(void) { return 0; }\n";

/** What `readelf -d` reports about the dynamic section. */
export interface ReadelfDynamic {
  /** Tag names in order, e.g. `["NEEDED", "RUNPATH", ...]`. */
  tags: string[];
  rpath?: string;
  runpath?: string;
  soname?: string;
  needed: string[];
}

/** Parses `readelf -d -W` (binutils), which reads the file independently of Spackle. */
export async function readelfDynamic(path: string): Promise<ReadelfDynamic> {
  const out = await run("readelf", ["-d", "-W", path]);
  if (out.code !== 0) throw new Error(`readelf -d ${path}: ${out.stderr}`);
  const result: ReadelfDynamic = { tags: [], needed: [] };
  for (const line of out.stdout.split("\n")) {
    const m = /^\s*0x[0-9a-f]+\s+\((\w+)\)\s+(.*)$/.exec(line);
    if (!m) continue;
    result.tags.push(m[1]);
    const value = /\[(.*)\]$/.exec(m[2])?.[1];
    if (m[1] === "RPATH") result.rpath = value;
    else if (m[1] === "RUNPATH") result.runpath = value;
    else if (m[1] === "SONAME") result.soname = value;
    else if (m[1] === "NEEDED" && value !== undefined) result.needed.push(value);
  }
  return result;
}

/** The program interpreter as `readelf -l` reports it. */
export async function readelfInterpreter(path: string): Promise<string | undefined> {
  const out = await run("readelf", ["-l", "-W", path]);
  if (out.code !== 0) throw new Error(`readelf -l ${path}: ${out.stderr}`);
  return /\[Requesting program interpreter: (.*)\]/.exec(out.stdout)?.[1];
}

/** File offset and size of section `name`, from `readelf -S -W`. */
export async function readelfSection(
  path: string,
  name: string,
): Promise<{ offset: number; size: number }> {
  const out = await run("readelf", ["-S", "-W", path]);
  for (const line of out.stdout.split("\n")) {
    const m = /^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (m && m[1] === name) return { offset: parseInt(m[2], 16), size: parseInt(m[3], 16) };
  }
  throw new Error(`no section ${name} in ${path}`);
}

/** Byte offset of the first occurrence of `needle` (UTF-8) in `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: string): number {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = 0; i + n.length <= haystack.length; i++) {
    for (let j = 0; j < n.length; j++) if (haystack[i + j] !== n[j]) continue outer;
    return i;
  }
  return -1;
}

/** Options of {@link syntheticElf}. */
export interface SyntheticElfOptions {
  is64: boolean;
  littleEndian: boolean;
  interpreter?: string;
  /** The rpath string, stored under `DT_RUNPATH` if `runpath`, else `DT_RPATH`. */
  rpath?: string;
  runpath?: boolean;
  needed?: string[];
}

/**
 * A minimal `ET_DYN` file: one PT_LOAD over the whole image, PT_INTERP, PT_DYNAMIC with
 * `DT_NEEDED`, `DT_STRTAB`, `DT_STRSZ`, the rpath and `DT_NULL`, and section headers for
 * `.interp`, `.dynstr`, `.dynamic`, `.shstrtab`. e_machine is a real one for the class and byte
 * order (x86-64, i386, ppc64, ppc) so that readelf decodes it normally.
 */
export function syntheticElf(o: SyntheticElfOptions): Uint8Array {
  const w = o.is64 ? 8 : 4;
  const ehsize = o.is64 ? 64 : 52;
  const phentsize = o.is64 ? 56 : 32;
  const shentsize = o.is64 ? 64 : 40;
  const base = 0x400000;
  const enc = new TextEncoder();
  const align8 = (n: number) => (n + 7) & ~7;

  // .dynstr: "\0" then each string, remembering its index.
  const strtab: number[] = [0];
  const addString = (s: string) => {
    const at = strtab.length;
    strtab.push(...enc.encode(s), 0);
    return at;
  };
  const neededAt = (o.needed ?? []).map(addString);
  const rpathAt = o.rpath === undefined ? undefined : addString(o.rpath);
  const shstr = enc.encode("\0.interp\0.dynstr\0.dynamic\0.shstrtab\0");
  const interp = o.interpreter === undefined ? undefined : enc.encode(`${o.interpreter}\0`);

  const phnum = interp ? 3 : 2;
  const phoff = ehsize;
  const interpOff = phoff + phnum * phentsize;
  const dynstrOff = interpOff + (interp?.length ?? 0);
  const dynOff = align8(dynstrOff + strtab.length);
  const dyn: [number, number][] = [
    ...neededAt.map((at): [number, number] => [1, at]),
    [5, base + dynstrOff],
    [10, strtab.length],
    ...(rpathAt === undefined ? [] : [[o.runpath ? 29 : 15, rpathAt] as [number, number]]),
    [0, 0],
  ];
  const dynSize = dyn.length * 2 * w;
  const shstrOff = dynOff + dynSize;
  const shoff = align8(shstrOff + shstr.length);
  const sections = interp ? 5 : 4;
  const total = shoff + sections * shentsize;

  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  const le = o.littleEndian;
  const put = (at: number, size: number, value: number) => {
    if (size === 1) v.setUint8(at, value);
    else if (size === 2) v.setUint16(at, value, le);
    else if (size === 4) v.setUint32(at, value, le);
    else v.setBigUint64(at, BigInt(value), le);
  };

  bytes.set([0x7f, 0x45, 0x4c, 0x46, o.is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  put(16, 2, 3); // ET_DYN
  put(18, 2, o.is64 ? (le ? 62 : 21) : (le ? 3 : 20));
  put(20, 4, 1);
  put(o.is64 ? 32 : 28, w, phoff);
  put(o.is64 ? 40 : 32, w, shoff);
  put(o.is64 ? 52 : 40, 2, ehsize);
  put(o.is64 ? 54 : 42, 2, phentsize);
  put(o.is64 ? 56 : 44, 2, phnum);
  put(o.is64 ? 58 : 46, 2, shentsize);
  put(o.is64 ? 60 : 48, 2, sections);
  put(o.is64 ? 62 : 50, 2, sections - 1);

  const phdr = (i: number, type: number, off: number, size: number, flags: number) => {
    const at = phoff + i * phentsize;
    put(at, 4, type);
    put(at + (o.is64 ? 4 : 24), 4, flags);
    put(at + (o.is64 ? 8 : 4), w, off);
    put(at + (o.is64 ? 16 : 8), w, base + off);
    put(at + (o.is64 ? 24 : 12), w, base + off);
    put(at + (o.is64 ? 32 : 16), w, size);
    put(at + (o.is64 ? 40 : 20), w, size);
    put(at + (o.is64 ? 48 : 28), w, type === 1 ? 0x1000 : w);
  };
  phdr(0, 1, 0, shoff, 6); // PT_LOAD, RW
  if (interp) phdr(1, 3, interpOff, interp.length, 4); // PT_INTERP
  phdr(phnum - 1, 2, dynOff, dynSize, 6); // PT_DYNAMIC

  if (interp) bytes.set(interp, interpOff);
  bytes.set(strtab, dynstrOff);
  dyn.forEach(([tag, val], i) => {
    put(dynOff + i * 2 * w, w, tag);
    put(dynOff + i * 2 * w + w, w, val);
  });
  bytes.set(shstr, shstrOff);

  // Section headers: null, [.interp], .dynstr, .dynamic, .shstrtab.
  const shdr = (
    i: number,
    name: number,
    type: number,
    flags: number,
    off: number,
    size: number,
    link: number,
    entsize: number,
  ) => {
    const at = shoff + i * shentsize;
    put(at, 4, name);
    put(at + 4, 4, type);
    put(at + 8, w, flags);
    put(at + (o.is64 ? 16 : 12), w, type === 3 && flags === 0 ? 0 : base + off);
    put(at + (o.is64 ? 24 : 16), w, off);
    put(at + (o.is64 ? 32 : 20), w, size);
    put(at + (o.is64 ? 40 : 24), 4, link);
    put(at + (o.is64 ? 48 : 32), w, 1);
    put(at + (o.is64 ? 56 : 36), w, entsize);
  };
  let i = 1;
  if (interp) shdr(i++, 1, 1, 2, interpOff, interp.length, 0, 0);
  const dynstrIndex = i;
  shdr(i++, 9, 3, 2, dynstrOff, strtab.length, 0, 0);
  shdr(i++, 17, 6, 3, dynOff, dynSize, dynstrIndex, 2 * w);
  shdr(i++, 26, 3, 0, shstrOff, shstr.length, 0, 0);
  return bytes;
}
