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
    return { message: oneLine(err.message), usage: err instanceof UsageError };
  }
  if (err instanceof Error && isOsError(err)) return { message: osMessage(err), usage: false };
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const stack = debugging() && err instanceof Error && err.stack ? `\n${err.stack}` : "";
  return { message: `internal error (${oneLine(text)})${stack}`, usage: false };
}

function oneLine(text: string): string {
  return redactUserinfo(text).replace(/:\s*\n\s*/g, ": ").replace(/\s*\n\s*/g, "; ");
}

function isOsError(err: Error): boolean {
  return Object.values(Deno.errors).some((type) => err instanceof type) ||
    /\(os error \d+\)/.test(err.message);
}

// Deno's form: "Not a directory (os error 20): mkdir '/x/y'". Said as "mkdir /x/y: not a directory".
function osMessage(err: Error): string {
  const m = /^(.*?)(?: \(os error \d+\))?(?:: (\w+) '(.*)')?$/s.exec(err.message);
  if (!m?.[2]) return oneLine(err.message);
  const what = m[1].charAt(0).toLowerCase() + m[1].slice(1);
  return oneLine(`cannot ${m[2]} ${shorten(m[3])}: ${what}`);
}

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
