/**
 * Errors of Spack environments: a lockfile or manifest (`spack.lock`, `spack.yaml`) that does not
 * follow Spack's format. Each names the file and the key path of the bad value.
 *
 * @module
 */
import { FormatError } from "../errors.ts";

/**
 * A `spack.lock` Spack could not read either: unknown `_meta.lockfile-version`, a root or
 * dependency naming a hash missing from `concrete_specs`, a node without a name.
 * The message reads `<file>: <key path>: <detail>`, e.g.
 * `env/spack.lock: concrete_specs.abc.dependencies.zlib: no concrete spec with hash …`.
 */
export class LockfileError extends FormatError {
  /** Creates the error for the value at `keyPath` (dot-separated, empty for the whole file). */
  constructor(readonly file: string, readonly keyPath: string, detail: string) {
    super(file, keyPath ? `${keyPath}: ${detail}` : detail);
  }
}

/**
 * A `spack.yaml` whose environment settings (`view`, `config:install_tree`, `include_concrete`,
 * `specs`) have a shape Spack's schema rejects. Message: `<file>: <key path>: <detail>`.
 */
export class EnvironmentManifestError extends FormatError {
  /** Creates the error for the value at `keyPath` (dot-separated, e.g. `spack.view.default.link`). */
  constructor(readonly file: string, readonly keyPath: string, detail: string) {
    super(file, keyPath ? `${keyPath}: ${detail}` : detail);
  }
}
