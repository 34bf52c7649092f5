/** Reading an {@link EnvSource}: one lookup function for objects and `Deno.env`-like getters. */
import type { EnvSource } from "./types.ts";

/** A function returning the value of an environment variable, or `undefined` when unset. */
export type EnvLookup = (name: string) => string | undefined;

/** Turns `env` (default: the process environment) into a lookup function. */
export function envLookup(env?: EnvSource): EnvLookup {
  const source = env ?? Deno.env;
  if (typeof (source as { get?: unknown }).get === "function") {
    const getter = source as { get(name: string): string | undefined };
    return (name) => getter.get(name);
  }
  const record = source as Readonly<Record<string, string | undefined>>;
  return (name) => Object.hasOwn(record, name) ? record[name] : undefined;
}
