/**
 * JSON serialisations that Spack writes byte for byte.
 *
 * @module
 */

/**
 * Python's `json.dumps(obj, separators=(",", ":"))` with the default `ensure_ascii=True`:
 * compact, key order kept, every non-ASCII character escaped as `\uXXXX` (UTF-16 units).
 */
export function compactJson(value: unknown): string {
  return escapeNonAscii(JSON.stringify(value));
}

/**
 * Python's `json.dump(obj, indent=0, separators=(",", ":"))`: one token per line, no indentation,
 * `[]`/`{}` for empty containers, no trailing newline. Spack writes build cache manifests this way.
 */
export function indent0Json(value: unknown): string {
  return escapeNonAscii(indent0(value));
}

function indent0(value: unknown): string {
  if (Array.isArray(value)) {
    return value.length ? `[\n${value.map(indent0).join(",\n")}\n]` : "[]";
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (!entries.length) return "{}";
    return `{\n${entries.map(([k, v]) => `${JSON.stringify(k)}:${indent0(v)}`).join(",\n")}\n}`;
  }
  return JSON.stringify(value);
}

function escapeNonAscii(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[^\x00-\x7f]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}
