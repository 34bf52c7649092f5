// The one line the CLI prints for a failure, and its exit status: every error ends up here, so
// no command ends in a stack trace.

import { SpackleError, UsageError } from "../errors.ts";
import { redactUserinfo } from "../net/http.ts";

/** A failure as the CLI reports it: the text after `error: ` and whether it was bad usage. */
export interface ReportedError {
  /** One line, credentials redacted. */
  readonly message: string;
  /** True for bad arguments (exit 2), false for a failed operation (exit 1). */
  readonly usage: boolean;
}

/**
 * Describes `err` for the user: a Spackle error by its message; an operating-system error
 * (`NotFound`, `PermissionDenied`, `NotADirectory`, …) by what was done to which path; anything
 * else as an internal error naming its type. `SPACKLE_DEBUG=1` appends the stack of the latter.
 */
export function reportError(err: unknown): ReportedError {
  if (err instanceof SpackleError) {
    return { message: plainMessage(err.message), usage: err instanceof UsageError };
  }
  if (err instanceof Error && isOsError(err)) {
    return { message: plainMessage(err.message), usage: false };
  }
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const stack = debugging() && err instanceof Error && err.stack ? `\n${err.stack}` : "";
  return { message: `internal error (${plainMessage(text)})${stack}`, usage: false };
}

/**
 * `text` as one line for a terminal: URL credentials redacted, line breaks joined, and Deno's
 * operating-system errors ("Not a directory (os error 20): mkdir '/x/y'", also inside another
 * message) said as "cannot mkdir /x/y: not a directory".
 */
export function plainMessage(text: string): string {
  return redactUserinfo(text)
    .replace(
      /(?:(?:[A-Z][a-z]+)+: )?([A-Z][^:;()\n]*?) \(os error \d+\): (\w+) '([^'\n]*)'/g,
      (_all, what: string, op: string, path: string) =>
        `cannot ${op} ${shorten(path)}: ${what.charAt(0).toLowerCase()}${what.slice(1)}`,
    )
    .replace(/ \(os error \d+\)/g, "")
    .replace(
      NODE_FS_ERROR,
      (_all, what: string, op: string, path: string) => `cannot ${op} ${shorten(path)}: ${what}`,
    )
    .replace(/:\s*\n\s*/g, ": ")
    .replace(/\s*\n\s*/g, "; ");
}

function isOsError(err: Error): boolean {
  return Object.values(Deno.errors).some((type) => err instanceof type) ||
    /\(os error \d+\)/.test(err.message) || new RegExp(NODE_FS_ERROR.source).test(err.message);
}

// node:fs's form: "ENOENT: no such file or directory, mkdir '/x'".
const NODE_FS_ERROR = /\bE[A-Z]+: ([^,\n]+), (\w+) '([^'\n]*)'/g;

// A path too long to read (ENAMETOOLONG) keeps its two ends.
function shorten(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 80)}…${path.slice(-80)}`;
}

function debugging(): boolean {
  try {
    return !!Deno.env.get("SPACKLE_DEBUG");
  } catch {
    return false;
  }
}
