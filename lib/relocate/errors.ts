/**
 * Errors of binary string relocation, with the message texts Spack prints (Spack relocation
 * reference §1.5, §1.12: `CannotGrowString`, `CannotShrinkCString`).
 *
 * @module
 */
import { RelocationError } from "../errors.ts";

const FIX_HINT = " To fix this, compile with more padding (config:install_tree:padded_length)," +
  " or install to a shorter prefix.";

/**
 * A binary holds an old prefix whose replacement is longer; binaries can only keep or shrink
 * string lengths. Code `CANNOT_GROW_STRING`.
 *
 * @example
 * ```ts
 * import { relocateBinaryFile, CannotGrowStringError } from "@spackle/spackle/relocate";
 * const map = new Map([["/opt/build/store", "/opt/a/much/longer/install/root"]]);
 * try {
 *   await relocateBinaryFile("/opt/a/much/longer/install/root/bin/app", map);
 * } catch (e) {
 *   if (e instanceof CannotGrowStringError) console.error(e.file, e.message); // install into a shorter root, or pad
 *   else throw e;
 * }
 * ```
 */
export class CannotGrowStringError extends RelocationError {
  /**
   * Creates the error for replacing `oldPrefix` with the longer `newPrefix` (UTF-8 bytes), in
   * the file `file` when known. The message quotes both as Python bytes literals, as Spack does.
   */
  constructor(readonly oldPrefix: Uint8Array, readonly newPrefix: Uint8Array, file?: string) {
    super(
      "CANNOT_GROW_STRING",
      `Cannot replace ${pythonBytesRepr(oldPrefix)} with ${pythonBytesRepr(newPrefix)}` +
        ` because the new prefix is longer.${FIX_HINT}`,
      file,
    );
  }
}

/**
 * A NUL-terminated string would have to shrink by at most 7 bytes while its last bytes change,
 * which could corrupt strings the linker merged into its tail. Code `CANNOT_SHRINK_C_STRING`.
 *
 * @example
 * ```ts
 * import { relocateBinaryFile, CannotShrinkCStringError } from "@spackle/spackle/relocate";
 * const map = new Map([["/opt/build/store", "/opt/r"]]);
 * try {
 *   await relocateBinaryFile("/opt/r/bin/app", map);
 * } catch (e) {
 *   if (e instanceof CannotShrinkCStringError) console.error(e.file, e.message); // pick a root 8 or more bytes shorter, or the same length
 *   else throw e;
 * }
 * ```
 */
export class CannotShrinkCStringError extends RelocationError {
  /**
   * Creates the error; `cString` is the old prefix plus the bytes up to (not including) the NUL
   * that ends the string, all as found in the file `file` when known.
   */
  constructor(
    readonly oldPrefix: Uint8Array,
    readonly newPrefix: Uint8Array,
    readonly cString: Uint8Array,
    file?: string,
  ) {
    super(
      "CANNOT_SHRINK_C_STRING",
      `Cannot replace ${pythonBytesRepr(oldPrefix)} with ${pythonBytesRepr(newPrefix)}` +
        ` in the C-string ${pythonBytesRepr(cString)}.${FIX_HINT}`,
      file,
    );
  }
}

/** `repr()` of a Python `bytes` object, e.g. `b'/opt/x\x00'`, to match Spack's messages. */
function pythonBytesRepr(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = "b" + quote;
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (b < 0x20 || b >= 0x7f) out += "\\x" + b.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + quote;
}
