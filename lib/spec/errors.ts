/**
 * Errors of the spec query grammar.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/**
 * A spec query (or version) that does not follow Spack's spec syntax. The message names the
 * problem and the 1-based column, then repeats the text with a caret under that column:
 *
 * ```text
 * expected a version after '@' at column 7
 *   hdf5 @@1
 *         ^
 * ```
 *
 * It is a {@link UsageError} (bad input from the caller; the CLI exits 2) with its own `code`.
 */
export class SpecSyntaxError extends UsageError {
  /** Always `"SPEC_SYNTAX"`. */
  override readonly code = "SPEC_SYNTAX";

  /**
   * Creates the error for `text` at 1-based `column` (one past the end for "ran out of input").
   * `detail` says what was expected or found.
   */
  constructor(readonly text: string, readonly column: number, readonly detail: string) {
    super(`${detail} at column ${column}\n  ${text}\n  ${" ".repeat(column - 1)}^`);
  }
}
