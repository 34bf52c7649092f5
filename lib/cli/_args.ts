// Argument parsers shared by the subcommands.
import { resolve } from "node:path";
import { InvalidArgumentError } from "commander";

/** Parses a positive integer option value (`-j N`, `--padded-length N`). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/**
 * Parses a path option as an absolute path (resolved against the cwd), so nothing relative is
 * ever written into an install or a configuration file.
 */
export function absolutePath(value: string): string {
  if (value === "") throw new InvalidArgumentError("expected a path");
  return resolve(value);
}

/** Parses a directory option: absolute, and refused when something other than a directory is there. */
export function directoryPath(value: string): string {
  const path = absolutePath(value);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return path; // absent (created later) or unreadable (reported by the command itself)
  }
  if (!info.isDirectory) throw new InvalidArgumentError(`${path} is not a directory`);
  return path;
}

/** Collects a repeatable path option into a list of absolute paths. */
export function collectPaths(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), absolutePath(value)];
}

/** `JSON.stringify` with Maps as objects, indented, for `--json` output. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => v instanceof Map ? Object.fromEntries(v) : v,
    2,
  );
}
