// Argument parsers shared by the subcommands.
import { resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import { TAG_RE } from "../registry/_names.ts";

/** How commands that take specs describe them (each one spec in Spack's syntax). */
export const SPEC_SYNTAX =
  "specs in Spack's syntax, quoted one per argument: zlib, zlib@1.3:, /hashprefix, 'hdf5 +mpi ^openmpi'";

/** Parses a positive integer option value (`-j N`, `--padded-length N`). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** Parses a whole number of at least 0 (commander option parser). */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
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

/** Parses an image tag (`--tag`): a word character, then up to 127 word characters, `.` or `-`. */
export function imageTag(value: string): string {
  if (!TAG_RE.test(value)) {
    throw new InvalidArgumentError("expected a tag: letters, digits, _ . - (at most 128)");
  }
  return value;
}

/** Parses an RFC 3339 date-time (`--created`), e.g. `2026-01-02T03:04:05Z`. */
export function rfc3339(value: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(value);
  if (!ok || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError("expected an RFC 3339 time such as 2026-01-02T03:04:05Z");
  }
  return value;
}

/** `JSON.stringify` with Maps as objects, indented, for `--json` output. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => v instanceof Map ? Object.fromEntries(v) : v,
    2,
  );
}
