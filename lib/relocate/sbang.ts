/**
 * Spack's `sbang` post-install step (Spack relocation reference §1.9, acceptance cases S01–S17):
 * install the `sbang` launcher at `<unpadded root>/bin/sbang`, and give every executable script
 * whose `#!` line is too long for the kernel a short `#!/bin/sh <sbang>` first line.
 *
 * Patching writes a new file and renames it over the script, exactly as Spack does. The script
 * therefore gets a new inode: other hard links to it keep the old, unpatched content
 * (reference §1.10, H04).
 *
 * @module
 */
import { constants } from "node:fs";
import { type FileHandle, lstat, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname } from "node:path";
import { RelocationError } from "../errors.ts";
import { bytesEqual, concatBytes } from "./_bytes.ts";
import { readUpTo, writeFully } from "./_file_io.ts";
import { SBANG_SCRIPT } from "./sbang_script.ts";
import { walkRegularFiles } from "./_walk.ts";

/** Shebang length limit Spack assumes on Linux, newline included (kernels before 5.1). */
export const SHEBANG_LIMIT = 127;

/** Spack reads at most this many bytes of a first line; a line this long is never patched. */
const SPACK_SHEBANG_LIMIT = 4096;

const EXECUTE_BITS = 0o111;
const COPY_CHUNK = 1 << 20;
const encoder = new TextEncoder();

/**
 * `<root>/bin/sbang` would be longer than {@link SHEBANG_LIMIT} bytes, so `#!/bin/sh <sbang>`
 * could not shorten any shebang (code `SBANG_PATH`; Spack's `SbangPathError`, S17).
 *
 * @example
 * ```ts
 * import { sbangInstallPath, SbangPathError } from "@spackle/spackle/relocate";
 * try {
 *   sbangInstallPath("/" + "x".repeat(200));
 * } catch (e) {
 *   if (e instanceof SbangPathError) console.error(e.sbangPath.length, e.length); // over 127 bytes
 *   else throw e;
 * }
 * ```
 */
export class SbangPathError extends RelocationError {
  /** Creates the error for the sbang path that is too long. */
  constructor(readonly sbangPath: string, readonly length: number) {
    super(
      "SBANG_PATH",
      `install tree root is too long: the sbang path is ${length} bytes, over the ` +
        `${SHEBANG_LIMIT}-byte shebang limit, so long shebang lines cannot be patched`,
      sbangPath,
    );
  }
}

/**
 * Where sbang lives for an install tree: `<unpaddedRoot>/bin/sbang`, joined like Python's
 * `os.path.join`. The unpadded root is used even for padded stores (reference §1.3).
 *
 * @throws {SbangPathError} if the path is longer than 127 bytes (UTF-8).
 * @example
 * ```ts
 * sbangInstallPath("/opt/spack"); // "/opt/spack/bin/sbang"
 * ```
 */
export function sbangInstallPath(unpaddedRoot: string): string {
  return checkedSbangPath(
    unpaddedRoot.endsWith("/") ? `${unpaddedRoot}bin/sbang` : `${unpaddedRoot}/bin/sbang`,
  );
}

/**
 * Installs the sbang launcher at {@link sbangInstallPath}`(unpaddedRoot)` with mode 0755, through
 * a temporary file renamed into place, so a concurrent reader sees the old or the new file,
 * never half of one. An identical file with mode 0755 is left untouched. Returns the path.
 *
 * @throws {SbangPathError} if the path is longer than 127 bytes; nothing is written.
 * @example
 * ```ts
 * const sbang = await installSbang("/opt/spack"); // "/opt/spack/bin/sbang"
 * ```
 */
export async function installSbang(unpaddedRoot: string): Promise<string> {
  const path = sbangInstallPath(unpaddedRoot);
  const content = encoder.encode(SBANG_SCRIPT);
  try {
    const [current, stat] = await Promise.all([readFile(path), lstat(path)]);
    if (stat.isFile() && (stat.mode & 0o7777) === 0o755 && bytesEqual(current, content)) {
      return path;
    }
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
  await mkdir(dirname(path), { recursive: true });
  await replaceAtomically(path, 0o755, async (out) => {
    await writeFully(out, content, null);
  });
  return path;
}

/**
 * Adds `#!/bin/sh <sbangPath>` as a new first line to the script at `path` if its shebang is
 * too long for the kernel, keeping the original line as line 2 (Spack `filter_shebang`, S01–S16).
 *
 * Only regular files (not symlinks) with an execute bit are considered. The first line, newline
 * included, is patched when it is 128 to 4095 bytes long; a line of exactly 4096 bytes or more
 * is left alone (Spack reads 4096 bytes and then gives up, even when byte 4096 is the newline).
 * Lines that already are the sbang line, or where only blanks follow `#!`, are left alone.
 * Line 2 becomes `--!…` for interpreters ending in `/lua` or `/luajit`, `//!…` for `/node`, and
 * `<?php #!…` for `/php`, where, as in Spack, ` ?>` is written after the original newline and
 * so starts line 3. The file's mode is kept, read-only files included (only the directory must
 * be writable); the new file replaces the old by rename, which breaks hard links as in Spack.
 *
 * Returns whether the file was patched.
 *
 * @throws {SbangPathError} if `sbangPath` is longer than 127 bytes.
 * @example
 * ```ts
 * await patchShebang("/opt/spack/linux-x86_64/py-tool-1.0-abc/bin/tool", "/opt/spack/bin/sbang");
 * ```
 */
export async function patchShebang(path: string, sbangPath: string): Promise<boolean> {
  const sbangLine = encoder.encode(`#!/bin/sh ${checkedSbangPath(sbangPath)}\n`);
  const stat = await lstat(path);
  if (!stat.isFile() || (stat.mode & EXECUTE_BITS) === 0) return false;
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    // Replaced by a symlink since the lstat: never follow it.
    if ((err as { code?: string }).code === "ELOOP") return false;
    throw err;
  }
  try {
    const line = firstLine(await readUpTo(fh, SPACK_SHEBANG_LIMIT, 0));
    if (!line || line.length <= SHEBANG_LIMIT || line.length === SPACK_SHEBANG_LIMIT) return false;
    if (bytesEqual(line, sbangLine)) return false;
    const interpreter = interpreterOf(line);
    if (!interpreter) return false;
    const mode = (await fh.stat()).mode & 0o7777;
    await replaceAtomically(path, mode, async (out) => {
      await writeFully(out, concatBytes([sbangLine, keptLine(line, interpreter)]), null);
      await copyRest(fh, line.length, out);
    });
    return true;
  } finally {
    await fh.close();
  }
}

/**
 * Runs {@link patchShebang} on every regular executable file under `prefix` without following
 * symlinks, as Spack's post-install `sbang` hook does, except that the prefix's `.spack/`
 * metadata directory (build logs and scripts, never relocated) is skipped. Returns the
 * prefix-relative paths of the patched files, in walk order (names sorted, depth first).
 *
 * @throws {SbangPathError} if `sbangPath` is longer than 127 bytes.
 * @example
 * ```ts
 * const sbang = await installSbang("/opt/spack");
 * const patched = await filterShebangsInPrefix("/opt/spack/linux-x86_64/tool-1.0-abc", sbang);
 * ```
 */
export async function filterShebangsInPrefix(prefix: string, sbangPath: string): Promise<string[]> {
  checkedSbangPath(sbangPath);
  const patched: string[] = [];
  for await (const file of walkRegularFiles(prefix, { skipSpackDir: true })) {
    if ((file.stat.mode & EXECUTE_BITS) === 0) continue;
    if (await patchShebang(file.path, sbangPath)) patched.push(file.relativePath);
  }
  return patched;
}

function checkedSbangPath(path: string): string {
  const length = encoder.encode(path).length;
  if (length > SHEBANG_LIMIT) throw new SbangPathError(path, length);
  return path;
}

/** The first line (newline included) if the file starts with `#!`, as Spack reads it. */
function firstLine(head: Uint8Array): Uint8Array | undefined {
  if (head.length < 2 || head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const newline = head.indexOf(0x0a, 2);
  return head.subarray(0, newline < 0 ? head.length : newline + 1);
}

/** The interpreter word: after `#!` and blanks, up to a blank, NUL, newline or the end. */
function interpreterOf(line: Uint8Array): Uint8Array | undefined {
  let start = 2;
  while (line[start] === 0x20 || line[start] === 0x09) start++;
  let end = start;
  while (end < line.length && ![0x20, 0x09, 0x00, 0x0a].includes(line[end])) end++;
  return end > start ? line.subarray(start, end) : undefined;
}

/** The original first line as it is kept on line 2, in a form the script's language ignores. */
function keptLine(line: Uint8Array, interpreter: Uint8Array): Uint8Array {
  const name = new TextDecoder("latin1").decode(interpreter);
  if (name.endsWith("/lua") || name.endsWith("/luajit")) {
    return concatBytes(["--!", line.subarray(2)]);
  }
  if (name.endsWith("/node")) return concatBytes(["//!", line.subarray(2)]);
  if (name.endsWith("/php")) return concatBytes(["<?php ", line, " ?>"]);
  return line;
}

async function copyRest(from: FileHandle, offset: number, to: FileHandle): Promise<void> {
  const buf = new Uint8Array(COPY_CHUNK);
  for (let at = offset;;) {
    const { bytesRead } = await from.read(buf, 0, buf.length, at);
    if (bytesRead === 0) return;
    await writeFully(to, buf.subarray(0, bytesRead), null);
    at += bytesRead;
  }
}

/**
 * Writes a new file next to `path` with `fill`, gives it `mode` and renames it over `path`;
 * on failure the temporary file is removed and `path` is untouched.
 */
async function replaceAtomically(
  path: string,
  mode: number,
  fill: (out: FileHandle) => Promise<void>,
): Promise<void> {
  const temp = `${dirname(path)}/.${basename(path)}.sbang-${randomBytes(4).toString("hex")}`;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const out = await open(temp, flags, 0o600);
  try {
    try {
      await fill(out);
      // fchmod, not the open mode: the umask must not change the result.
      await out.chmod(mode);
    } finally {
      await out.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}
