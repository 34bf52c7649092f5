/**
 * Reading YAML configuration files: the text (for byte-preserving edits), the parsed document
 * (with source ranges) and its plain value with mappings as ordered `Map`s, so that key order
 * and Spack's `::`, `+:`, `-:` key suffixes survive.
 */
import { type Document, isMap, parseDocument } from "yaml";
import { MirrorConfigError } from "./errors.ts";

/** A parsed YAML file. */
export interface YamlFile {
  /** Path of the file. */
  readonly path: string;
  /** Exact text of the file (empty for a missing file). */
  readonly text: string;
  /** Parsed document, nodes carrying their source ranges. */
  readonly doc: Document.Parsed;
  /** Whether the file existed. */
  readonly exists: boolean;
}

/**
 * Parses `text` as one YAML document (`version` "1.2" for Spack, "1.1" for PyYAML-read files).
 *
 * @throws {MirrorConfigError} on a syntax error or more than one document.
 */
export function parseYaml(text: string, path: string, version: "1.1" | "1.2" = "1.2"): YamlFile {
  const doc = parseDocument(text, { keepSourceTokens: true, version, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    throw new MirrorConfigError(path, "", `invalid YAML: ${error.message.split("\n")[0]}`);
  }
  return { path, text, doc, exists: true };
}

/**
 * Reads and parses `path`; a missing file reads as an empty document with `exists: false`.
 *
 * @throws {MirrorConfigError} on invalid YAML.
 */
export async function readYaml(path: string, version: "1.1" | "1.2" = "1.2"): Promise<YamlFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { ...parseYaml("", path, version), exists: false };
    }
    throw e;
  }
  return parseYaml(text, path, version);
}

/** The document's value with mappings as `Map`s in source order (keys as strings). */
export function plainValue(file: YamlFile): unknown {
  return keysToStrings(file.doc.toJS({ mapAsMap: true, maxAliasCount: 100 }));
}

function keysToStrings(value: unknown): unknown {
  if (value instanceof Map) {
    return new Map([...value].map(([k, v]) => [String(k), keysToStrings(v)]));
  }
  if (Array.isArray(value)) return value.map(keysToStrings);
  return value;
}

/** A short name of a plain YAML value's type, for messages. */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Map) return "a mapping";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a timestamp";
  return `a ${typeof value}`;
}

/** How a key combines with lower-precedence scopes (Spack's key suffixes `::`, `+:`, `-:`). */
export type KeyMode = "merge" | "override" | "prepend" | "append";

/** Splits a key as read (`name:` for `name::`, `name+`, `name-`) into its name and mode. */
export function splitKey(key: string): { name: string; mode: KeyMode } {
  if (key.length > 1 && key.endsWith(":")) return { name: key.slice(0, -1), mode: "override" };
  if (key.length > 1 && key.endsWith("+")) return { name: key.slice(0, -1), mode: "prepend" };
  if (key.length > 1 && key.endsWith("-")) return { name: key.slice(0, -1), mode: "append" };
  return { name: key, mode: "merge" };
}

/**
 * Key path of the `mirrors` section in a parsed file: `spack.mirrors` in an environment manifest
 * (top-level `spack:`), else `mirrors` (a scope's `mirrors.yaml`).
 */
export function mirrorsSectionPath(file: YamlFile): string[] {
  const root = file.doc.contents;
  const isEnv = isMap(root) && root.items.some((p) => {
    const key = String((p.key as { value?: unknown })?.value ?? p.key);
    return key === "spack" || key === "spack:";
  });
  return isEnv ? ["spack", "mirrors"] : ["mirrors"];
}
