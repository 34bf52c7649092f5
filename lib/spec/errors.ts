/**
 * Errors of the spec query grammar.
 *
 * @module
 */
import { SpackleError } from "../errors.ts";

/**
 * A spec query (or version) that does not follow Spack's spec syntax. The message names the
 * problem and the 1-based column, then repeats the text with a caret under that column:
 *
 * ```text
 * expected a version after '@' at column 7
 *   hdf5 @@1
 *         ^
 * ```
 */
export class SpecSyntaxError extends SpackleError {
  /**
   * Creates the error for `text` at 1-based `column` (one past the end for "ran out of input").
   * `detail` says what was expected or found.
   */
  constructor(readonly text: string, readonly column: number, readonly detail: string) {
    super(
      "SPEC_SYNTAX",
      `${detail} at column ${column}\n  ${text}\n  ${" ".repeat(column - 1)}^`,
    );
  }
}
