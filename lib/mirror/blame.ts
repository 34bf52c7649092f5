/**
 * Naming the right culprit when a tarball fails part-way. A streamed tarball is checked against
 * its digest only at its end, so damaged bytes usually surface first as a gzip or tar error from a
 * later stage. Before such an error is reported, the blob is read again in full: when it does not
 * match its digest or declared size, that is the error the user sees.
 *
 * @module
 */
import { DigestMismatchError, SizeMismatchError } from "../errors.ts";

/**
 * The error to report for `error`, raised while a blob was being read: a
 * {@link DigestMismatchError} or {@link SizeMismatchError} when the blob itself is damaged (its
 * message naming the blob, `error` as its cause), else `error` unchanged. `open` reads the blob
 * again, checked against its digest and declared size (e.g. `Mirror.openTarball`), which costs a
 * second download, only on this failure path.
 */
export async function blameBlob(
  open: () => Promise<ReadableStream<Uint8Array>>,
  error: unknown,
): Promise<unknown> {
  if (error instanceof DigestMismatchError || error instanceof SizeMismatchError) return error;
  try {
    await (await open()).pipeTo(new WritableStream());
  } catch (e) {
    if (e instanceof DigestMismatchError || e instanceof SizeMismatchError) {
      (e as Error & { cause?: unknown }).cause ??= error;
      return e;
    }
  }
  return error;
}
