/**
 * Errors of image composition: an image with more layers than container runtimes accept.
 *
 * @module
 */
import { SpackleError } from "../errors.ts";

/**
 * Most layers an image may have: overlay filesystems stack at most this many lower layers
 * (Docker and containerd refuse deeper images).
 */
export const MAX_IMAGE_LAYERS = 127;

/**
 * The image would have more than {@link MAX_IMAGE_LAYERS} layers. Nothing was tagged.
 *
 * @example
 * ```ts
 * import { composeImage, imageTarget, openMirror, TooManyLayersError } from "@spackle/spackle";
 * const mirror = await openMirror("./cache");
 * const options = { mirror, specs: await mirror.listSpecs(), target: imageTarget("./images", "all") };
 * try {
 *   await composeImage(options);
 * } catch (e) {
 *   if (!(e instanceof TooManyLayersError)) throw e;
 *   await composeImage({ ...options, squash: true }); // one layer for all the specs
 * }
 * ```
 */
export class TooManyLayersError extends SpackleError {
  /**
   * Creates the error from the layer counts of the base image and of the specs; `squashed`
   * tells whether the spec layers were already squashed into one.
   */
  constructor(readonly baseLayers: number, readonly specLayers: number, squashed: boolean) {
    super(
      "TOO_MANY_LAYERS",
      `the image would have ${baseLayers + specLayers} layers (${baseLayers} from the base ` +
        `image, ${specLayers} for the specs), more than the ${MAX_IMAGE_LAYERS} container ` +
        "runtimes accept; " +
        (squashed
          ? "use a base image with fewer layers"
          : "squash the spec layers into one (option `squash`, flag `--squash`)"),
    );
  }
}
