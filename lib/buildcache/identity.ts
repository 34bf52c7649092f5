/**
 * The identity check every mirror applies to an entry it reads: the spec inside must be the
 * spec its key names and the one asked for, and (where Spack's hashing can be reproduced) its
 * content must hash to its DAG hash (build cache format reference §3.3).
 *
 * @module
 */
import { SpecMismatchError } from "../errors.ts";
import { dagHash } from "../spec/hash.ts";
import { type ConcreteSpec, shortSpec, type SpecNode } from "../spec/spec.ts";

/** What an entry is expected to be, from where it was found and what was asked for. */
export interface EntryIdentity {
  /** Where the entry was read: manifest or spec file URL, image reference. Named in errors. */
  key: string;
  /** The DAG hash the key names (manifest key, spec file name, image tag). */
  keyHash: string;
  /** The spec asked for (a node of the index or the caller's), when there is one. */
  wanted?: SpecNode;
  /**
   * Recompute DAG hashes from the nodes' content. True for layout 3 entries (URL and OCI), whose
   * spec files Spack ≥ 1.0 writes in the form it hashes; false for legacy layout 2 spec files,
   * whose stored hashes do not reproduce (see {@link checkEntrySpec}).
   */
  rehash: boolean;
}

/**
 * Throws unless `found` (the spec read from an entry) is the entry `identity` describes:
 *
 * - its root DAG hash equals the key's and, when given, the wanted spec's (itself the index's
 *   or the request's);
 * - its root name and version equal the wanted spec's;
 * - with `rehash`, every node of the DAG hashes to its stored hash ({@link dagHash}; a spliced
 *   node's hash is the first 25 characters of its own hash plus the last 7 of its build spec's).
 *   Since hashes cover dependency hashes, the root hash then vouches for the whole DAG.
 *
 * Only nodes in spec format 5 (`annotations.original_specfile_version` ≥ 5, which Spack ≥ 1.0
 * writes on every node) are re-hashed. An older node keeps the hash the older Spack gave it:
 * Spack itself never recomputes it, and re-serialising it today gives another hash (a `compiler`
 * key, archspec fields; reference §3.3: the migrated libelf stores `rqh2vuf6…`, re-hashes to
 * `47mjhifu…`). Legacy layout 2 entries are not re-hashed at all: the v2 mirrors in Spack's
 * own test data carry format-5 nodes whose stored hashes do not reproduce (they were edited
 * after hashing). For those only the equalities above are checked, so a node without the
 * format-5 annotation is vouched for by its key and the index alone.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { checkEntrySpec, specManifestKey } from "@spackle/spackle/buildcache";
 * const mirror = await openMirror("./cache");
 * const [spec] = await mirror.listSpecs();
 * checkEntrySpec(spec, { key: specManifestKey(spec.node), keyHash: spec.node.hash, rehash: true });
 * ```
 *
 * @throws {SpecMismatchError} naming `identity.key`, the expected and the found hash.
 */
export function checkEntrySpec(found: ConcreteSpec, identity: EntryIdentity): void {
  const { key, keyHash, wanted } = identity;
  const root = found.node;
  if (root.hash !== keyHash) {
    throw new SpecMismatchError(key, keyHash, root.hash, `the entry holds ${shortSpec(root)}`);
  }
  if (wanted) {
    if (root.hash !== wanted.hash) {
      throw new SpecMismatchError(
        key,
        wanted.hash,
        root.hash,
        `${shortSpec(wanted)} was asked for`,
      );
    }
    if (root.name !== wanted.name || bare(root.version) !== bare(wanted.version)) {
      throw new SpecMismatchError(
        key,
        wanted.hash,
        root.hash,
        `the entry is ${root.name}@${root.version}, ${wanted.name}@${wanted.version} was asked for`,
      );
    }
  }
  if (!identity.rehash) return;
  for (const node of found.nodes.values()) {
    if (!(Number(node.annotations?.original_specfile_version) >= 5)) continue;
    const computed = nodeHash(node);
    if (computed !== node.hash) {
      throw new SpecMismatchError(
        key,
        node.hash,
        computed,
        `the content of node ${node.name} does not hash to its DAG hash`,
      );
    }
  }
}

/** The DAG hash of `node` recomputed from its content, with Spack's rule for spliced nodes. */
function nodeHash(node: SpecNode): string {
  const computed = dagHash(node);
  const build = (node.build_spec as { hash?: unknown } | undefined)?.hash;
  return typeof build === "string" ? computed.slice(0, 25) + build.slice(-7) : computed;
}

function bare(version: string | undefined): string | undefined {
  return version?.replace(/^=/, "");
}
