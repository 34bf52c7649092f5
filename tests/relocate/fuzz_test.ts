/**
 * C07: differential test of the streaming relocators against whole-buffer reference
 * implementations written here straight from the definitions of Spack's two patterns
 * (relocation reference §1.4, §1.5): 3000 seeded cases (text and binary, 1–4 overlapping keys
 * from a tiny alphabet, NULs, growing and shrinking values, errors), each in 5 chunkings.
 */
import assert from "node:assert/strict";
import {
  CannotGrowStringError,
  CannotShrinkCStringError,
  relocateBinaryStream,
  relocateTextStream,
} from "../../lib/relocate/mod.ts";
import { bytes, chunkings, latin1, runStream, seededRandom } from "./_helpers.ts";

type Pairs = [Uint8Array, Uint8Array][];

const isWord = (b: number) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
  b === 0x5f || b === 0x2d;
const isWordOrSlash = (b: number) => isWord(b) || b === 0x2f;

function startsAt(data: Uint8Array, p: number, key: Uint8Array): boolean {
  if (p + key.length > data.length) return false;
  for (let i = 0; i < key.length; i++) if (data[p + i] !== key[i]) return false;
  return true;
}

/**
 * `re.sub` of `(?<![\w\-_/])([\w\-_]*?)(K1|K2|…)([\w\-_/]*)` keeping groups 1 and 3, simulated
 * by trying every start position, then every lazy extension of group 1, then each key in order.
 */
function referenceText(data: Uint8Array, pairs: Pairs): Uint8Array {
  const out: number[] = [];
  let from = 0;
  for (;;) {
    let match: { p: number; k: number } | undefined;
    search: for (let s = from; s <= data.length; s++) {
      if (s > 0 && isWordOrSlash(data[s - 1])) continue; // look-behind
      for (let p = s;; p++) {
        const k = pairs.findIndex(([key]) => startsAt(data, p, key));
        if (k >= 0) {
          match = { p, k };
          break search;
        }
        if (p >= data.length || !isWord(data[p])) break; // group 1 cannot grow
      }
    }
    if (!match) break;
    const [key, value] = pairs[match.k];
    let end = match.p + key.length;
    while (end < data.length && isWordOrSlash(data[end])) end++; // group 3, greedy
    out.push(
      ...data.subarray(from, match.p),
      ...value,
      ...data.subarray(match.p + key.length, end),
    );
    from = end;
  }
  out.push(...data.subarray(from));
  return Uint8Array.from(out);
}

/**
 * Spack's binary loop: `finditer` of `(K1|K2|…)([^\0]{0,N}\0)?` over the original bytes, each
 * replacement written into a copy. Returns the copy and the error, if one was raised.
 */
function referenceBinary(data: Uint8Array, pairs: Pairs, safety = 7) {
  const out = data.slice();
  let from = 0;
  while (from <= data.length) {
    let p = from;
    let k = -1;
    for (; p < data.length; p++) {
      k = pairs.findIndex(([key]) => startsAt(data, p, key));
      if (k >= 0) break;
    }
    if (k < 0) break;
    const [old, neu] = pairs[k];
    const keyEnd = p + old.length;
    let nul = -1;
    for (let i = keyEnd; i <= keyEnd + safety && i < data.length; i++) {
      if (data[i] === 0) {
        nul = i;
        break;
      }
    }
    const suffix = nul - keyEnd;
    const shorter = old.length - neu.length;
    const tail = (b: Uint8Array) => latin1(b).slice(-(safety - suffix));
    if (shorter < 0) return { out, error: CannotGrowStringError };
    if (nul < 0 || suffix >= safety || tail(old) === tail(neu)) {
      out.set([...Array(shorter).fill(0x2f), ...neu], p);
    } else if (shorter > safety) {
      out.set([...neu, ...data.subarray(keyEnd, nul + 1)], p);
    } else {
      return { out, error: CannotShrinkCStringError };
    }
    from = nul >= 0 ? nul + 1 : keyEnd;
  }
  return { out, error: undefined };
}

const ALPHABET = "/ab-.x\0 ";

function randomString(rng: () => number, min: number, max: number, alphabet = ALPHABET): string {
  const length = min + Math.floor(rng() * (max - min + 1));
  let s = "";
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
  return s;
}

/** A random prefix map (distinct keys) and an input salted with its keys. */
function randomCase(rng: () => number) {
  const map = new Map<string, string>();
  const keyCount = 1 + Math.floor(rng() * 4);
  const shared = randomString(rng, 0, 3, "/ab");
  while (map.size < keyCount) {
    const key = shared + randomString(rng, 1, 5, "/ab-.x");
    if (map.has(key)) continue;
    map.set(key, randomString(rng, 0, 9, "/abxy"));
  }
  const keys = [...map.keys()];
  let input = "";
  const length = Math.floor(rng() * 160);
  while (input.length < length) {
    input += rng() < 0.3 ? keys[Math.floor(rng() * keys.length)] : randomString(rng, 1, 6);
  }
  return { map, input: bytes(input) };
}

const encoder = new TextEncoder();
const toPairs = (map: Map<string, string>): Pairs =>
  [...map].filter(([k, v]) => k !== v).map(([k, v]) => [encoder.encode(k), encoder.encode(v)]);

Deno.test("C07: text stream equals the reference on 1500 random cases x 5 chunkings", async () => {
  const rng = seededRandom(20260116);
  for (let n = 0; n < 1500; n++) {
    const { map, input } = randomCase(rng);
    const expected = latin1(referenceText(input, toPairs(map)));
    for (const { name, chunks } of chunkings(input, n, 3)) {
      const result = await runStream(relocateTextStream(map), chunks);
      const where = `case ${n} ${name}: map ${JSON.stringify([...map])} input ${
        JSON.stringify(latin1(input))
      }`;
      assert.ok(result.output, `${where}: ${result.error}`);
      assert.equal(latin1(result.output), expected, where);
    }
  }
});

Deno.test("C07: binary stream equals the reference on 1500 random cases x 5 chunkings", async () => {
  const rng = seededRandom(19700101);
  let errors = 0;
  for (let n = 0; n < 1500; n++) {
    const { map, input } = randomCase(rng);
    // Mostly shrinking values, so that most cases relocate instead of failing.
    for (const [k, v] of map) {
      if (rng() < 0.8 && v.length > k.length) map.set(k, v.slice(0, k.length));
    }
    const safety = rng() < 0.2 ? 1 + Math.floor(rng() * 7) : 7;
    const expected = referenceBinary(input, toPairs(map), safety);
    if (expected.error) errors++;
    for (const { name, chunks } of chunkings(input, n, 3)) {
      const result = await runStream(
        relocateBinaryStream(map, { suffixSafetySize: safety }),
        chunks,
      );
      const where = `case ${n} ${name}: map ${JSON.stringify([...map])} input ${
        JSON.stringify(latin1(input))
      } safety ${safety}`;
      if (expected.error) {
        assert.ok(result.error instanceof expected.error, `${where}: ${result.error}`);
      } else {
        assert.ok(result.output, `${where}: ${result.error}`);
        assert.equal(latin1(result.output), latin1(expected.out), where);
      }
      if (name === "whole") {
        // One chunk is rewritten in place, up to the failing match.
        assert.equal(latin1(chunks[0] ?? new Uint8Array()), latin1(expected.out), where);
      }
    }
  }
  // The generator must exercise both outcomes.
  assert.ok(errors > 50 && errors < 1200, `${errors} error cases`);
});
