/**
 * Errors of the image model: specs or a base image built for another platform.
 *
 * @module
 */
import { SpackleError } from "../../errors.ts";

/**
 * The specs and the base image do not share a platform (architecture or OS), or the specs span
 * several. Nothing was tagged.
 *
 * @example
 * ```ts
 * import { composeImage, imageTarget, openMirror, PlatformMismatchError } from "@spackle/spackle";
 * const mirror = await openMirror("./cache");
 * const target = imageTarget("./images", "app");
 * try {
 *   await composeImage({ base: "arm64v8/debian:12", mirror, specs: await mirror.listSpecs(), target });
 * } catch (e) {
 *   if (e instanceof PlatformMismatchError) console.error(e.wanted, "!=", e.offered);
 *   else throw e;
 * }
 * ```
 */
export class PlatformMismatchError extends SpackleError {
  /** Creates the error; `wanted` is the platform of the specs, `offered` what was found. */
  constructor(readonly wanted: string, readonly offered: string, detail: string) {
    super("PLATFORM_MISMATCH", `${detail}: the specs need ${wanted}, found ${offered}`);
  }
}
