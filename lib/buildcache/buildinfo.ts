/**
 * `.spack/binary_distribution`: what push recorded for relocation (build cache format
 * reference §2.4, relocation reference §1.2). The last member of every package tarball.
 *
 * @module
 */
import { parse } from "yaml";
import { FormatError } from "../errors.ts";

/** The relocation metadata of one package tarball. */
export interface BuildInfo {
  /** `<unpadded store root>/bin/sbang` at push time. */
  sbang_install_path?: string;
  /** The (possibly padded) store root at push time. */
  buildpath?: string;
  /** Informational: where the writer lived. */
  spackprefix?: string;
  /** Informational: the prefix relative to `buildpath`. */
  relative_prefix?: string;
  /** True when each hardlinked inode is listed once. */
  hardlinks_deduped?: boolean;
  /** DAG hash → old prefix, for the spec and the dependencies to relocate, in Spack's order. */
  hash_to_prefix: Record<string, string>;
  /** Prefix-relative paths of ELF/Mach-O files. */
  relocate_binaries: string[];
  /** Prefix-relative paths of symlinks with absolute targets into a relocatable prefix. */
  relocate_links: string[];
  /** Prefix-relative paths of text files that contain a relocatable prefix. */
  relocate_textfiles: string[];
}

/**
 * Parses buildinfo YAML. Understands the legacy `prefix_to_hash` (Spack ≤ 0.19) by inverting it.
 *
 * @throws {FormatError} naming `source` on malformed YAML, or when neither `hash_to_prefix` nor
 * `prefix_to_hash` is present (such a tarball cannot be relocated).
 *
 * @example
 * ```ts
 * import { parseBuildInfo } from "@spackle/spackle/buildcache";
 * const path = "/opt/sw/zlib-ng-2.2.4-abc/.spack/binary_distribution";
 * const info = parseBuildInfo(await Deno.readTextFile(path), path);
 * console.log(info.hash_to_prefix, info.relocate_textfiles);
 * ```
 */
export function parseBuildInfo(text: string, source: string): BuildInfo {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) ?? {};
  } catch (e) {
    throw new FormatError(source, `malformed binary_distribution YAML: ${(e as Error).message}`);
  }
  let hashToPrefix = doc.hash_to_prefix as Record<string, string> | undefined;
  if (!hashToPrefix && doc.prefix_to_hash) {
    hashToPrefix = Object.fromEntries(
      Object.entries(doc.prefix_to_hash as Record<string, string>).map(([p, h]) => [h, p]),
    );
  }
  if (!hashToPrefix || typeof hashToPrefix !== "object") {
    throw new FormatError(
      source,
      "package tarball was created from an install prefix with a different directory layout " +
        "and an older buildcache create implementation; it cannot be relocated",
    );
  }
  const list = (key: string): string[] => {
    const v = doc[key] ?? [];
    if (!Array.isArray(v)) throw new FormatError(source, `${key} is not a list`);
    return v.map(String);
  };
  return {
    ...doc,
    hash_to_prefix: hashToPrefix,
    relocate_binaries: list("relocate_binaries"),
    relocate_links: list("relocate_links"),
    relocate_textfiles: list("relocate_textfiles"),
  };
}

/**
 * Serialises buildinfo as Spack does: one line of flow-style YAML, keys in Spack's order,
 * strings plain where YAML allows it, then a newline.
 *
 * @example
 * ```ts
 * import { serializeBuildInfo } from "@spackle/spackle/buildcache";
 * const text = serializeBuildInfo({
 *   buildpath: "/opt/spack/store",
 *   hash_to_prefix: { abc: "/opt/spack/store/zlib-ng-2.2.4-abc" },
 *   relocate_binaries: ["lib/libz.so.1"],
 *   relocate_links: [],
 *   relocate_textfiles: ["lib/pkgconfig/zlib.pc"],
 * });
 * ```
 */
export function serializeBuildInfo(info: BuildInfo): string {
  const parts: string[] = [];
  const put = (key: string, value: string) => parts.push(`${key}: ${value}`);
  if (info.sbang_install_path !== undefined) {
    put("sbang_install_path", scalar(info.sbang_install_path));
  }
  if (info.buildpath !== undefined) put("buildpath", scalar(info.buildpath));
  if (info.spackprefix !== undefined) put("spackprefix", scalar(info.spackprefix));
  if (info.relative_prefix !== undefined) put("relative_prefix", scalar(info.relative_prefix));
  put("hardlinks_deduped", String(info.hardlinks_deduped ?? true));
  put(
    "hash_to_prefix",
    `{${
      Object.entries(info.hash_to_prefix).map(([h, p]) => `${scalar(h)}: ${scalar(p)}`).join(", ")
    }}`,
  );
  for (const key of ["relocate_binaries", "relocate_links", "relocate_textfiles"] as const) {
    put(key, `[${info[key].map(scalar).join(", ")}]`);
  }
  return `{${parts.join(", ")}}\n`;
}

const PLAIN = /^[A-Za-z0-9_./~+][A-Za-z0-9_./~+@=%-]*$/;
const RESOLVES_AS_OTHER =
  /^(?:true|false|yes|no|on|off|null|~|[-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:e[-+]?\d+)?|\.inf|\.nan)$/i;

function scalar(s: string): string {
  if (PLAIN.test(s) && !RESOLVES_AS_OTHER.test(s)) return s;
  return `'${s.replaceAll("'", "''")}'`;
}
