// Argument parsers shared by the subcommands.
import { InvalidArgumentError } from "commander";

/** Parses a positive integer option value (`-j N`, `--padded-length N`). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}
