/**
 * Spack's merge of configuration scopes (`spack.schema.merge_yaml`) over `Map`-based values:
 * mappings merge key by key with the higher scope's keys first; `key::` replaces instead of
 * merging; `key+:` / `key-:` prepend / append strings; other values are replaced.
 *
 * Source: Spack build cache format reference §5.2.
 */
import { type KeyMode, splitKey } from "./_yaml.ts";

/** `value` with every key's `::`/`+:`/`-:` suffix dropped (what a replaced value becomes). */
export function stripKeyModes(value: unknown): unknown {
  if (!(value instanceof Map)) return value;
  return new Map([...value].map(([k, v]) => [splitKey(k).name, stripKeyModes(v)]));
}

/** Merges `source` (higher precedence, keys with suffixes) over `dest` (already merged). */
export function mergeScopes(dest: unknown, source: unknown, mode: KeyMode = "merge"): unknown {
  if (source === null) return null;
  if (dest instanceof Map && source instanceof Map) {
    const out = new Map<string, unknown>();
    for (const [key, value] of source) {
      const { name, mode: keyMode } = splitKey(key);
      out.set(
        name,
        dest.has(name) && keyMode !== "override"
          ? mergeScopes(dest.get(name), value, keyMode)
          : stripKeyModes(value),
      );
    }
    for (const [key, value] of dest) if (!out.has(key)) out.set(key, value);
    return out;
  }
  if (typeof dest === "string" && typeof source === "string") {
    if (mode === "prepend") return source + dest;
    if (mode === "append") return dest + source;
  }
  return stripKeyModes(source);
}
