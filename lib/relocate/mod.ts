/**
 * Prefix relocation as Spack does it: the text rule, the binary string rule, the in-place file
 * rewriters built on them, ELF RPATH/RUNPATH and interpreter rewriting, symlink targets, sbang
 * for long shebang lines, push-time file classification, and {@link relocatePrefix} that applies
 * all of them to an extracted package with the prefix map {@link buildPrefixMap} computes (Spack
 * relocation reference §1.1–§1.11, §3).
 *
 * @example
 * ```ts
 * import { relocate } from "@spackle/spackle/relocate";
 * const map = new Map([["/old/store/pkg-h1", "/new/store/pkg-h1"], ["/old/store", "/new/store"]]);
 * const file = await Deno.open("/new/store/pkg-h1/lib/pkgconfig/pkg.pc");
 * const relocated = file.readable.pipeThrough(relocate(map, "text"));
 * ```
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { relocateBinaryStream } from "./binary.ts";
import { relocateTextStream } from "./text.ts";

export {
  type BinaryRelocationOptions,
  relocateBinaryFile,
  relocateBinaryStream,
} from "./binary.ts";
export {
  createFileClassifier,
  type FileClassification,
  type FileClassifier,
  type FileType,
  isSpackMetadataPath,
} from "./classify.ts";
export {
  dropRedundantRpaths,
  dropRedundantRpathsInPrefix,
  type ElfDynamicInfo,
  ElfGrowError,
  type ElfStringChange,
  readElfDynamic,
  relocateElfFile,
} from "./elf.ts";
export { CannotGrowStringError, CannotShrinkCStringError } from "./errors.ts";
export { relocateLink } from "./links.ts";
export {
  filterShebangsInPrefix,
  installSbang,
  patchShebang,
  sbangInstallPath,
  SbangPathError,
  SHEBANG_LIMIT,
} from "./sbang.ts";
export { buildPrefixMap, checkOldPrefix, type InstallLayout } from "../install/prefix_map.ts";
export { relocatePrefix, type RelocationSummary } from "../install/relocate_prefix.ts";
export { relocateTextFile, relocateTextStream } from "./text.ts";

/**
 * A relocating stream for `mode`: {@link relocateTextStream} for text files (length may change)
 * or {@link relocateBinaryStream} for ELF/Mach-O files (length kept, chunks rewritten in place).
 * `map` is the ordered prefix map (old prefix → new prefix) in Spack's order.
 *
 * @throws {UsageError} for any other `mode`.
 *
 * @example
 * ```ts
 * import { relocate } from "@spackle/spackle/relocate";
 * const map = new Map([["/old/store/zlib-abc", "/new/zlib-abc"], ["/old/store", "/new"]]);
 * const pc = await Deno.open("zlib.pc");
 * await pc.readable.pipeThrough(relocate(map, "text"))
 *   .pipeTo((await Deno.create("zlib.pc.new")).writable);
 * ```
 */
export function relocate(
  map: ReadonlyMap<string, string>,
  mode: "text" | "binary",
): TransformStream<Uint8Array, Uint8Array> {
  if (mode === "text") return relocateTextStream(map);
  if (mode === "binary") return relocateBinaryStream(map);
  throw new UsageError(`relocation mode must be "text" or "binary", not ${JSON.stringify(mode)}`);
}
