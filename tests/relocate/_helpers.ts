/** Shared helpers of the relocation tests: byte notation, seeded splits, stream runners. */
import { seededRandom } from "../_support/random.ts";

export { seededRandom } from "../_support/random.ts";
export { withTempDir } from "../_support/temp.ts";

/** Bytes of a string whose characters are all below U+0100 (`"\xff"` is the byte 0xff). */
export function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => {
    const code = c.charCodeAt(0);
    if (code > 0xff) throw new Error(`not a byte: ${c}`);
    return code;
  });
}

/** The inverse of {@link bytes}, for readable assertion messages. */
export function latin1(data: Uint8Array): string {
  let out = "";
  for (let i = 0; i < data.length; i += 4096) {
    out += String.fromCharCode(...data.subarray(i, i + 4096));
  }
  return out;
}

/** `/opt/spack` padded to 128 characters as Spack pads store roots (reference §1.3, §4). */
export const PAD = "/opt/spack" + "/__spack_path_placeholder__".repeat(4) + "/__spack_p";
/** The hash used by the reference's padded fixture. */
export const H = "abcdefghijklmnopqrstuvwxyz234567";
/** An old package prefix under the padded root (183 bytes). */
export const OLDP = `${PAD}/linux-x86_64/zlib-1.3-${H}`;
/** Its new, unpadded location (68 bytes). */
export const NEWP = `/home/u/spack/linux-x86_64/zlib-1.3-${H}`;

/** Splits `data` into copies of consecutive pieces ending at the sorted offsets `cuts`. */
export function splitAt(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, data.length]) {
    if (cut > at) out.push(data.slice(at, cut));
    at = Math.max(at, cut);
  }
  return out;
}

/** A named way of cutting an input into chunks. */
export interface Chunking {
  name: string;
  chunks: Uint8Array[];
}

/**
 * The chunkings every case runs with: whole, 1-byte chunks, and `randomSplits` seeded random
 * splittings (1 to 6 cuts each, sometimes many small pieces).
 */
export function chunkings(data: Uint8Array, seed: number, randomSplits = 4): Chunking[] {
  const rng = seededRandom(seed);
  const out: Chunking[] = [
    { name: "whole", chunks: [data.slice()] },
    { name: "1-byte", chunks: splitAt(data, Array.from({ length: data.length }, (_, i) => i)) },
  ];
  for (let r = 0; r < randomSplits; r++) {
    const many = rng() < 0.25;
    const count = many ? Math.floor(rng() * data.length) : 1 + Math.floor(rng() * 6);
    const cuts = Array.from({ length: count }, () => Math.floor(rng() * (data.length + 1)));
    cuts.sort((a, b) => a - b);
    out.push({
      name: `random#${r} ${JSON.stringify(cuts.slice(0, 12))}`,
      chunks: splitAt(data, cuts),
    });
  }
  return out;
}

/** Every split of `data` into two chunks (for short inputs). */
export function everySplit(data: Uint8Array): Chunking[] {
  return Array.from({ length: data.length + 1 }, (_, i) => ({
    name: `split@${i}`,
    chunks: splitAt(data, [i]),
  }));
}

/** Outcome of pushing chunks through a stream: its output, or the error it failed with. */
export type StreamResult = { output: Uint8Array; error?: undefined } | {
  output?: undefined;
  error: Error;
};

/** Pipes `chunks` through `transform` and collects the output (copied) or the error. */
export async function runStream(
  transform: TransformStream<Uint8Array, Uint8Array>,
  chunks: readonly Uint8Array[],
): Promise<StreamResult> {
  const parts: Uint8Array[] = [];
  try {
    for await (const piece of ReadableStream.from(chunks).pipeThrough(transform)) {
      parts.push(piece.slice());
    }
  } catch (error) {
    return { error: error as Error };
  }
  const output = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    output.set(p, at);
    at += p.length;
  }
  return { output };
}

/** The suffix Spack appends to every binary relocation error (reference §1.5). */
export const FIX_HINT = " To fix this, compile with more padding " +
  "(config:install_tree:padded_length), or install to a shorter prefix.";
