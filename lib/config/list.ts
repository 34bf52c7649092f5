/**
 * `spack mirror list` output.
 *
 * Source: Spack build cache format reference §5.3 (`Mirror.display`).
 *
 * @module
 */
import { MirrorError } from "./errors.ts";
import type { MirrorsConfig } from "./types.ts";

/**
 * The lines `spack mirror list` prints for `config`, one per mirror in configuration order:
 * the name padded to the longest name, `[sb]` flags (`s` source, `b` binary, a space when
 * not), then the canonical URL, or `fetch: <url> push: <url>` when the two differ. An empty
 * array means Spack's "No mirrors configured.".
 *
 * @throws {MirrorError} `MIRROR_NO_URL` for a mirror without a fetch or push URL (Spack fails
 *   the same way).
 * @example
 * ```ts
 * import { listMirrors, loadMirrorsConfig } from "@spackle/spackle/config";
 * for (const line of listMirrors(await loadMirrorsConfig())) console.log(line);
 * // s3m          [ b] fetch: s3://bucket/cache push: s3://other/push
 * ```
 */
export function listMirrors(config: MirrorsConfig): string[] {
  const width = Math.max(0, ...config.mirrors.map((m) => m.name.length));
  return config.mirrors.map((m) => {
    const fetch = m.fetch.url;
    const push = m.push.url;
    if (fetch === undefined || push === undefined) {
      throw new MirrorError("MIRROR_NO_URL", m.name, `Mirror ${m.name} has no URL configured`);
    }
    const url = fetch === push ? fetch : `fetch: ${fetch} push: ${push}`;
    return `${m.name.padEnd(width)} [${m.source ? "s" : " "}${m.binary ? "b" : " "}] ${url}`;
  });
}
