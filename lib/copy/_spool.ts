// Spools one package tarball from a build cache into a local file in a single read: the gzip
// bytes go to the file unchanged (so the blob keeps its digest in any backend) while they are
// hashed, and a gunzip on the side hashes the tar inside, the OCI `diff_id`
// (build cache format reference §4.3), and checks its members with the member policy that
// install applies (the copy is used unchanged, maybe as an image layer, so setuid/setgid bits
// are refused too).

import { DigestMismatchError, FormatError, UnsafeTarballError } from "../errors.ts";
import type { PushedTarball, TarballRef } from "../mirror/types.ts";
import { hashTap } from "../stream/digest.ts";
import { gunzipStream } from "../stream/gzip.ts";
import { MemberPolicy } from "../tar/member_policy.ts";
import { TarReader } from "../tar/reader.ts";

/**
 * Writes the gzip tarball `source` to the existing file `path` and returns what a mirror needs
 * to publish it. The bytes must hash to `expected.digest`; `where` names the tarball in errors.
 *
 * @throws {DigestMismatchError} when the bytes do not match `expected.digest` (or the source
 *   stream reports a mismatch itself); a corrupt gzip stream with a mismatching digest reports
 *   the mismatch, not the gzip error.
 * @throws {FormatError} when the bytes match but their size differs from `expected.size`, or
 *   they are not a gzip tar stream.
 * @throws {UnsafeMemberError} when the bytes match but a member breaks {@link MemberPolicy}
 *   (named in the error); the file is left for the caller to remove, as for the other errors.
 */
export async function spoolTarball(
  source: ReadableStream<Uint8Array>,
  path: string,
  expected: TarballRef,
  where: string,
): Promise<PushedTarball> {
  const gzip = hashTap();
  const tar = hashTap();
  const unzip = gunzipStream();
  const diffId = checkMembers(unzip.readable.pipeThrough(tar.stream), where)
    .then(() => tar.digest);
  diffId.catch(() => {});
  const toUnzip = unzip.writable.getWriter();
  // A gunzip failure must not stop the file copy: the digest decides what went wrong.
  let unzipError: unknown;
  const noteUnzipError = (e: unknown) => {
    unzipError ??= e;
  };
  const sideGunzip = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      // The file write of this chunk overlaps its decompression; neither modifies the chunk.
      controller.enqueue(chunk);
      if (unzipError === undefined) await toUnzip.write(chunk).catch(noteUnzipError);
    },
    async flush() {
      if (unzipError === undefined) await toUnzip.close().catch(noteUnzipError);
    },
  });

  const file = await Deno.open(path, { write: true, truncate: true });
  try {
    await source.pipeThrough(gzip.stream).pipeThrough(sideGunzip).pipeTo(file.writable);
  } catch (e) {
    toUnzip.abort(e).catch(() => {});
    try {
      file.close();
    } catch {
      // Already closed by the aborted pipe.
    }
    throw e;
  }

  const { sha256, size } = await gzip.digest;
  const want = expected.digest.replace(/^sha256:/, "");
  if (sha256 !== want) throw new DigestMismatchError(where, want, sha256);
  if (expected.size !== undefined && size !== expected.size) {
    throw new FormatError(where, `tarball has ${size} bytes, its record says ${expected.size}`);
  }
  let tarDigest: string;
  try {
    // The member check stops the side gunzip early (failing its writes) with its own error.
    tarDigest = (await diffId).sha256;
    if (unzipError !== undefined) throw unzipError;
  } catch (e) {
    if (e instanceof UnsafeTarballError || e instanceof FormatError) throw e;
    throw new FormatError(where, `tarball is not a valid gzip stream: ${(e as Error).message}`);
  }
  return { path, sha256, size, diffId: tarDigest };
}

/** Reads the tar `stream` to its end, checking every member; on a refusal stops reading it. */
async function checkMembers(stream: ReadableStream<Uint8Array>, where: string): Promise<void> {
  const reader = new TarReader(stream, where);
  const policy = new MemberPolicy(where, { unchanged: true });
  try {
    for (let member = await reader.next(); member; member = await reader.next()) {
      policy.check(member);
    }
    policy.finish();
  } catch (e) {
    await reader.cancel(e).catch(() => {});
    throw e;
  }
}
