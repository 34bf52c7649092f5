/**
 * Errors of the mirror configuration: a file that does not follow Spack's (or Stackinator's)
 * schema, a mirror that is missing or clashes, a credential variable that is not set.
 *
 * @module
 */
import { FormatError, SpackleError } from "../errors.ts";

/**
 * A configuration file that Spack 1.2 (or Stackinator) would reject. The message names the file
 * and the key path, e.g. `~/.spack/mirrors.yaml: mirrors.m.fetch.access_pair: …`.
 *
 * @example
 * ```ts
 * import { loadMirrorsConfig, MirrorConfigError } from "@spackle/spackle";
 * try {
 *   await loadMirrorsConfig();
 * } catch (e) {
 *   if (e instanceof MirrorConfigError) console.error(e.file, e.keyPath, e.message);
 *   else throw e;
 * }
 * ```
 */
export class MirrorConfigError extends FormatError {
  /** Creates the error for the value at `keyPath` (dot-separated, empty for the whole file). */
  constructor(readonly file: string, readonly keyPath: string, detail: string) {
    super(file, keyPath ? `${keyPath}: ${detail}` : detail);
  }
}

/** Stable codes of {@link MirrorError}. */
export type MirrorErrorCode = "MIRROR_NOT_FOUND" | "MIRROR_EXISTS" | "MIRROR_NO_URL";

/**
 * A mirror name that is not configured (`MIRROR_NOT_FOUND`), already configured
 * (`MIRROR_EXISTS`), or a mirror without a URL for the direction asked for (`MIRROR_NO_URL`).
 *
 * @example
 * ```ts
 * import { MirrorError, openConfiguredMirror } from "@spackle/spackle";
 * try {
 *   await openConfiguredMirror("my-cache");
 * } catch (e) {
 *   if (e instanceof MirrorError && e.code === "MIRROR_NOT_FOUND") console.error("no mirror", e.mirror);
 *   else throw e;
 * }
 * ```
 */
export class MirrorError extends SpackleError {
  /** Creates the error about the mirror called `mirror`. */
  constructor(code: MirrorErrorCode, readonly mirror: string, message: string) {
    super(code, message);
  }
}

/**
 * A credential named by the mirror configuration is not available: the environment variable is
 * unset or empty. The message names the variable, never a value.
 *
 * @example
 * ```ts
 * import { MirrorCredentialsError, openConfiguredMirror } from "@spackle/spackle";
 * try {
 *   await openConfiguredMirror("my-registry", { direction: "push" });
 * } catch (e) {
 *   if (e instanceof MirrorCredentialsError) console.error(`set ${e.variable} for ${e.mirror}`);
 *   else throw e;
 * }
 * ```
 */
export class MirrorCredentialsError extends SpackleError {
  /** Creates the error; `role` is the configuration key (`secret_variable`, `id_variable`, …). */
  constructor(
    readonly mirror: string,
    readonly direction: string,
    readonly variable: string,
    readonly role: string,
  ) {
    super(
      "MIRROR_CREDENTIALS",
      `invalid ${direction} configuration for mirror ${mirror}: environment variable ` +
        `\`${variable}\` (${role}) is not set`,
    );
  }
}
