/**
 * Where Spack puts a spec inside an install tree: the default projection, and the padded
 * install roots of `install_tree: {padded_length: N}` (relocation reference §1.3).
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { politeFilename, shortSpec, type SpecNode, targetName } from "../spec/spec.ts";

/** Spack's default install-tree projection (`install_tree: projections: all:`), Spack ≥ 1.0. */
export const DEFAULT_PROJECTION =
  "{architecture.platform}-{architecture.target}/{name}-{version}-{hash}";

/** The path component Spack repeats to pad an install root (`SPACK_PATH_PADDING_CHARS`). */
export const PATH_PLACEHOLDER = "__spack_path_placeholder__";

/** `padded_length: true` pads to `getconf PATH_MAX` (4096 on Linux) minus 300. */
const PADDED_LENGTH_TRUE = 4096 - 300;

/**
 * The prefix of `node` relative to its install root under {@link DEFAULT_PROJECTION}:
 * `<platform>-<target>/<name>-<version>-<hash>`, each component made polite as Spack's
 * `Spec.format_path` does. The target is the plain string or the archspec object's `name`.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { relativePrefix } from "@spackle/spackle/store";
 * const [{ node }] = await (await openMirror("./cache")).listSpecs();
 * relativePrefix(node); // "linux-x86_64/zlib-1.3.1-abcdefghijklmnopqrstuvwxyz234567"
 * ```
 * @throws {FormatError} when the node has no `version` or no `arch` (it is not concrete).
 */
export function relativePrefix(node: SpecNode): string {
  if (!node.arch?.platform || !targetName(node) || node.version === undefined) {
    throw new FormatError(shortSpec(node), "spec has no version or architecture to project");
  }
  const arch = politeFilename(`${node.arch.platform}-${targetName(node)}`);
  return `${arch}/${politeFilename(`${node.name}-${node.version}-${node.hash}`)}`;
}

/**
 * Spack's `add_padding(root, length)`: appends components of {@link PATH_PLACEHOLDER} until the
 * root is exactly `length` characters. The last component is a truncated placeholder; a pad that
 * would end in `/` ends in `_` instead. `length: true` means PATH_MAX − 300 (3796).
 * A root already `length - 1` characters or longer is returned as it is (Spack warns that one
 * character cannot be padded and would only append a `/` naming the same directory).
 *
 * @example
 * ```ts
 * paddedRoot("/opt/spack", 128).length; // 128
 * ```
 */
export function paddedRoot(root: string, length: number | true): string {
  const base = trimSlashes(root);
  const target = length === true ? PADDED_LENGTH_TRUE : length;
  const padLength = target - base.length - 1; // one character goes to the joining "/"
  if (padLength <= 0) return base;
  const unit = PATH_PLACEHOLDER.length + 1;
  const parts = new Array<string>(Math.floor(padLength / unit)).fill(PATH_PLACEHOLDER);
  parts.push(PATH_PLACEHOLDER.slice(0, padLength % unit));
  let pad = parts.join("/");
  if (pad.endsWith("/")) pad = pad.slice(0, -1) + "_";
  return `${base}/${pad}`;
}

/**
 * Recovers the unpadded root (`STORE.unpadded_root`, where Spack keeps `bin/sbang`) from a
 * possibly padded one: the shortest leading run of components that {@link paddedRoot} pads back
 * to exactly `root`. A root without padding is returned unchanged.
 *
 * @example
 * ```ts
 * unpaddedRoot(paddedRoot("/opt/spack", 128)); // "/opt/spack"
 * ```
 */
export function unpaddedRoot(root: string): string {
  const path = trimSlashes(root);
  // Padding components all start with "_"; only cut before such a component.
  for (let at = path.indexOf("/_", 1); at !== -1; at = path.indexOf("/_", at + 1)) {
    const base = path.slice(0, at);
    if (paddedRoot(base, path.length) === path) return base;
  }
  return path;
}

function trimSlashes(path: string): string {
  return path.replace(/(.)\/+$/, "$1");
}
