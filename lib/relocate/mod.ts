/**
 * Prefix relocation of file contents as Spack does it: the text rule, the binary string rule,
 * the in-place file rewriters built on them, and push-time file classification (Spack
 * relocation reference §1.4, §1.5, §1.11, §3).
 *
 * @example
 * ```ts
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
export { CannotGrowStringError, CannotShrinkCStringError } from "./errors.ts";
export { relocateTextFile, relocateTextStream } from "./text.ts";

/**
 * A relocating stream for `mode`: {@link relocateTextStream} for text files (length may change)
 * or {@link relocateBinaryStream} for ELF/Mach-O files (length kept, chunks rewritten in place).
 * `map` is the ordered prefix map (old prefix → new prefix) in Spack's order.
 *
 * @throws {UsageError} for any other `mode`.
 */
export function relocate(
  map: ReadonlyMap<string, string>,
  mode: "text" | "binary",
): TransformStream<Uint8Array, Uint8Array> {
  if (mode === "text") return relocateTextStream(map);
  if (mode === "binary") return relocateBinaryStream(map);
  throw new UsageError(`relocation mode must be "text" or "binary", not ${JSON.stringify(mode)}`);
}
