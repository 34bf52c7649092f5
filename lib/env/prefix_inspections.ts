/**
 * Spack's default prefix inspections (`modules: prefix_inspections:` of its `modules.yaml`):
 * which sub-directory of a prefix goes on which search-path variable. Environment activation and
 * image environments (`config.Env`) both prepend these, in this order.
 *
 * @module
 */

/** One prefix inspection: a sub-directory (`""` for the prefix itself) and its variables. */
export interface PrefixInspection {
  /** Relative sub-directory, without `./`; `""` is the prefix itself. */
  readonly path: string;
  /** Variables the directory is prepended to. */
  readonly variables: readonly string[];
}

/**
 * The inspections in Spack's order (Linux defaults, Spack 1.2): `bin` → PATH, `man` and
 * `share/man` → MANPATH, `share/aclocal` → ACLOCAL_PATH, `lib/pkgconfig`, `lib64/pkgconfig` and
 * `share/pkgconfig` → PKG_CONFIG_PATH, the prefix → CMAKE_PREFIX_PATH.
 *
 * @example
 * ```ts
 * import { PREFIX_INSPECTIONS } from "@spackle/spackle/env";
 * const dirs = PREFIX_INSPECTIONS.filter((i) => i.variables.includes("PATH")).map((i) => i.path);
 * // ["bin"]
 * ```
 */
export const PREFIX_INSPECTIONS: readonly PrefixInspection[] = [
  { path: "bin", variables: ["PATH"] },
  { path: "man", variables: ["MANPATH"] },
  { path: "share/man", variables: ["MANPATH"] },
  { path: "share/aclocal", variables: ["ACLOCAL_PATH"] },
  { path: "lib/pkgconfig", variables: ["PKG_CONFIG_PATH"] },
  { path: "lib64/pkgconfig", variables: ["PKG_CONFIG_PATH"] },
  { path: "share/pkgconfig", variables: ["PKG_CONFIG_PATH"] },
  { path: "", variables: ["CMAKE_PREFIX_PATH"] },
];

const SYSTEM_ROOTS = ["/", "/usr", "/usr/local"];
const SYSTEM_SUFFIXES = ["bin", "bin64", "include", "lib", "lib64"];

/**
 * Spack's `is_system_path`: `/`, `/usr`, `/usr/local` and their `bin`, `bin64`, `include`, `lib`,
 * `lib64`. Prefix inspections of externals skip these (so `/usr/bin` is never prepended).
 *
 * @example
 * ```ts
 * import { isSystemPath } from "@spackle/spackle/env";
 * isSystemPath("/usr/bin"); // true
 * isSystemPath("/usr/share/man"); // false
 * ```
 */
export function isSystemPath(path: string): boolean {
  const p = path.length > 1 ? path.replace(/\/+$/, "") : path;
  return SYSTEM_ROOTS.some((r) =>
    p === r || SYSTEM_SUFFIXES.some((s) => p === (r === "/" ? `/${s}` : `${r}/${s}`))
  );
}
