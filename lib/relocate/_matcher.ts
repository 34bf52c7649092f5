/**
 * Multi-key literal search with Spack's leftmost-first semantics: the earliest position at which
 * any key occurs, and at that position the first key in map order (Spack relocation reference
 * §1.3, §3.3). One pass over the bytes per anchor group, never one per key.
 *
 * Keys are arranged in a radix tree. The tree is cut into a few anchor groups, each a node whose
 * path (the common prefix of every key below it) is searched with `indexOf` on its rarest byte and
 * verified in place; only at a verified anchor is the tree walked to pick the key. With the usual
 * prefix maps every key shares the store root, so there is a single group.
 *
 * @module
 */
import { BYTE_RANK } from "./_byte_rank.ts";

/** Node of the radix tree; its path is the common prefix of every key in its subtree. */
interface TrieNode {
  /** The common prefix itself. */
  readonly path: Uint8Array;
  /** The part of `path` below the parent's path (empty only at the root). */
  readonly label: Uint8Array;
  /** Length of `path`. */
  readonly depth: number;
  /** Map index of the key equal to this node's path, or -1. */
  readonly key: number;
  /** Smallest map index of any key strictly below this node, `Infinity` when it is a leaf. */
  readonly minBelow: number;
  /** Children by the first byte of their label. */
  readonly children: ReadonlyMap<number, TrieNode>;
}

/** A subtree searched as one unit: its path is the anchor, found through its rarest byte. */
interface AnchorGroup {
  readonly node: TrieNode;
  readonly anchor: Uint8Array;
  /** The anchor byte searched for with `indexOf`, and its offset in the anchor. */
  rareByte: number;
  rareOffset: number;
}

/** Anchors shorter than this are split into their children, which have longer paths. */
const MIN_ANCHOR = 6;
/** Cap on the number of groups, each of which costs one `indexOf` pass. */
const MAX_GROUPS = 16;
/** Cached hit value: nothing found before the scan limit. */
const NO_HIT = Number.MAX_SAFE_INTEGER;
/** Bytes counted to pick the rarest anchor byte of the data at hand. */
const SAMPLE_BYTES = 8 << 10;
/** Bytes scanned between two samples (files change character: code, then strings). */
const RESAMPLE_AFTER = 1 << 20;

/**
 * Finds key occurrences in byte buffers. Not reentrant: `key` and the per-group hit cache belong
 * to the scan in progress, and a scanner calls {@link KeyMatcher.begin} whenever it starts on a
 * buffer.
 */
export class KeyMatcher {
  /** The keys, in map order. */
  readonly keys: readonly Uint8Array[];
  /** Length of the longest key in bytes. */
  readonly maxKeyLength: number;
  /** Map index of the key found by the last successful {@link KeyMatcher.find}. */
  key = -1;
  readonly #groups: readonly AnchorGroup[];
  /** Per group: position of the next verified anchor at or after the last search start. */
  readonly #hits: number[];
  /** Bytes scanned since the anchor bytes were last chosen from a sample. */
  #sinceSample = RESAMPLE_AFTER;

  /** Compiles `keys` (non-empty, in map order). */
  constructor(keys: readonly Uint8Array[]) {
    this.keys = keys;
    this.maxKeyLength = keys.reduce((max, k) => Math.max(max, k.length), 0);
    this.#groups = keys.length === 0 ? [] : anchorGroups(buildNode(keys, keys.map((_, i) => i), 0));
    this.#hits = this.#groups.map(() => -1);
  }

  /**
   * Starts a scan of `buf` from `start`: forgets cached hits and, now and then, re-picks each
   * group's search byte as the anchor byte rarest in a sample of `buf` (a static ranking breaks
   * ties): which byte is rare depends on the data, e.g. `/` is six times as common as `k` in C
   * headers.
   */
  begin(buf: Uint8Array, start: number): void {
    this.#hits.fill(-1);
    this.#sinceSample += buf.length - start;
    if (this.#sinceSample < RESAMPLE_AFTER || buf.length - start < SAMPLE_BYTES) return;
    this.#sinceSample = 0;
    const counts = new Uint32Array(256);
    for (let i = start; i < start + SAMPLE_BYTES; i++) counts[buf[i]]++;
    for (const group of this.#groups) {
      const score = (b: number) => counts[b] * 256 + BYTE_RANK[b];
      const offset = rarestOffset(group.anchor, score);
      group.rareByte = group.anchor[offset];
      group.rareOffset = offset;
    }
  }

  /**
   * Returns the smallest position `q` with `from <= q < limit` at which a key occurs in `buf`,
   * and sets {@link KeyMatcher.key} to the first such key in map order; -1 when there is none.
   * A key that would run past the end of `buf` does not occur. Successive calls within one scan
   * must not decrease `from`.
   */
  find(buf: Uint8Array, from: number, limit: number): number {
    const groups = this.#groups;
    if (groups.length === 1) {
      const group = groups[0];
      for (let q = anchorHit(group, buf, from, limit); q !== NO_HIT;) {
        const k = resolve(group.node, buf, q);
        if (k >= 0) {
          this.key = k;
          return q;
        }
        q = anchorHit(group, buf, q + 1, limit);
      }
      return -1;
    }
    const hits = this.#hits;
    for (;;) {
      let best = NO_HIT;
      let bestGroup = -1;
      for (let g = 0; g < groups.length; g++) {
        let hit = hits[g];
        if (hit < from) hits[g] = hit = anchorHit(groups[g], buf, from, limit);
        if (hit < best) {
          best = hit;
          bestGroup = g;
        }
      }
      if (bestGroup < 0) return -1;
      // Anchors of different groups are not prefixes of one another, so at most one group
      // can match at `best`.
      const k = resolve(groups[bestGroup].node, buf, best);
      if (k >= 0) {
        this.key = k;
        return best;
      }
      hits[bestGroup] = anchorHit(groups[bestGroup], buf, best + 1, limit);
    }
  }
}

/** Builds the subtree of `members` (map indices, ascending) whose paths agree on `[0, start)`. */
function buildNode(keys: readonly Uint8Array[], members: number[], start: number): TrieNode {
  const first = keys[members[0]];
  let depth = start;
  extend: for (;;) {
    for (const m of members) if (keys[m].length === depth) break extend;
    const byte = first[depth];
    for (const m of members) if (keys[m][depth] !== byte) break extend;
    depth++;
  }
  // Two map entries can encode to the same bytes (lone surrogates); the earlier one wins,
  // as it would in Spack's alternation.
  const key = members.find((m) => keys[m].length === depth) ?? -1;
  const byNextByte = new Map<number, number[]>();
  for (const m of members) {
    if (keys[m].length === depth) continue;
    const byte = keys[m][depth];
    const group = byNextByte.get(byte);
    if (group) group.push(m);
    else byNextByte.set(byte, [m]);
  }
  const children = new Map<number, TrieNode>();
  let minBelow = Infinity;
  for (const [byte, group] of byNextByte) {
    const child = buildNode(keys, group, depth);
    children.set(byte, child);
    minBelow = Math.min(minBelow, child.minBelow, child.key < 0 ? Infinity : child.key);
  }
  return {
    path: first.subarray(0, depth),
    label: first.subarray(start, depth),
    depth,
    key,
    minBelow,
    children,
  };
}

/** Cuts the tree into anchor groups whose paths are long enough to search for. */
function anchorGroups(root: TrieNode): AnchorGroup[] {
  let frontier = [root];
  for (;;) {
    const i = frontier.findIndex((n) =>
      n.depth === 0 ||
      (n.depth < MIN_ANCHOR && n.key < 0 && frontier.length - 1 + n.children.size <= MAX_GROUPS)
    );
    if (i < 0) break;
    frontier = [
      ...frontier.slice(0, i),
      ...frontier[i].children.values(),
      ...frontier.slice(i + 1),
    ];
  }
  return frontier.map((node) => {
    const anchor = node.path;
    const rareOffset = rarestOffset(anchor, (b) => BYTE_RANK[b]);
    return { node, anchor, rareByte: anchor[rareOffset], rareOffset };
  });
}

/** Offset of the byte of `anchor` with the lowest `score`. */
function rarestOffset(anchor: Uint8Array, score: (byte: number) => number): number {
  let best = 0;
  for (let i = 1; i < anchor.length; i++) if (score(anchor[i]) < score(anchor[best])) best = i;
  return best;
}

/** Next position `q >= from`, `q < limit`, at which `group.anchor` occurs, or `NO_HIT`. */
function anchorHit(group: AnchorGroup, buf: Uint8Array, from: number, limit: number): number {
  const { anchor, rareByte, rareOffset } = group;
  const end = buf.length - anchor.length;
  let at = from + rareOffset;
  for (;;) {
    const found = buf.indexOf(rareByte, at);
    if (found < 0) return NO_HIT;
    const q = found - rareOffset;
    if (q >= limit || q > end) return NO_HIT;
    let i = 0;
    while (i < anchor.length && buf[q + i] === anchor[i]) i++;
    if (i === anchor.length) return q;
    at = found + 1;
  }
}

/** Map index of the first key (in map order) occurring at `q`, given that `node`'s path does. */
function resolve(node: TrieNode, buf: Uint8Array, q: number): number {
  let best = node.key;
  let cur = node;
  let pos = q + node.depth;
  while (pos < buf.length && (best < 0 || cur.minBelow < best)) {
    const child = cur.children.get(buf[pos]);
    if (child === undefined) break;
    const label = child.label;
    if (pos + label.length > buf.length) break;
    let i = 1;
    while (i < label.length && buf[pos + i] === label[i]) i++;
    if (i < label.length) break;
    pos += label.length;
    cur = child;
    if (cur.key >= 0 && (best < 0 || cur.key < best)) best = cur.key;
  }
  return best;
}
