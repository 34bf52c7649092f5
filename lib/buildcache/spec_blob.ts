/**
 * The spec metadata blob of a cache entry (build cache format reference §1.5).
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { compactJson } from "../spec/json.ts";
import { type ConcreteSpec, parseSpecFile, toSpecFile } from "../spec/spec.ts";
import { stripClearsign } from "./manifest.ts";

/**
 * Compact JSON of the spec's DAG plus `"buildcache_layout_version": 2` (Spack writes 2 in
 * layout v3 too). Spack stores it gzip-compressed.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { specBlobJson } from "@spackle/spackle/buildcache";
 * const specs = await (await openMirror("./cache")).listSpecs();
 * await Deno.writeTextFile("spec.json", specBlobJson(specs[0]));
 * ```
 */
export function specBlobJson(spec: ConcreteSpec): string {
  return compactJson({ ...toSpecFile(spec), buildcache_layout_version: 2 });
}

/**
 * Parses a spec blob or spec file text (JSON, possibly clearsigned). Rejects
 * `buildcache_layout_version` above 3.
 *
 * @throws {FormatError} naming `source`.
 *
 * @example
 * ```ts
 * import { parseSpecBlob } from "@spackle/spackle/buildcache";
 * const spec = parseSpecBlob(await Deno.readTextFile("spec.json"), "spec.json");
 * console.log(spec.node.name, spec.node.hash);
 * ```
 */
export function parseSpecBlob(text: string, source: string): ConcreteSpec {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(stripClearsign(text, source));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(source, `malformed spec JSON: ${(e as Error).message}`);
  }
  const layout = Number(doc?.buildcache_layout_version ?? 0);
  if (layout > 3) throw new FormatError(source, `layout version ${layout} is too new`);
  return parseSpecFile(doc, source);
}
