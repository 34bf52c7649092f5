/**
 * One of several concurrent writers in writers_test.ts, as its own process: pushes synthetic
 * specs to a cache, updating the index after each (as `push --update-index` jobs do), then
 * prints their DAG hashes as JSON.
 *
 *     deno run -A tests/index/_pusher.ts '{"url": "...", "seed": 1, "count": 20, "prefix": "a"}'
 */
import type { Mirror } from "../../lib/mirror/types.ts";
import { OciMirror } from "../../lib/mirror/oci.ts";
import { UrlMirror } from "../../lib/mirror/url.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { S3Store } from "../../lib/storage/s3.ts";
import { S3RVER_KEYS } from "../_support/s3.ts";
import { pushSynthetic, syntheticSpecs } from "./_synthetic.ts";

const job = JSON.parse(Deno.args[0]) as {
  url: string;
  seed: number;
  count: number;
  prefix: string;
  s3Endpoint?: string;
  indexEach?: boolean;
};
const mirror: Mirror = job.url.startsWith("s3://")
  ? new UrlMirror(new S3Store(job.url, { endpointUrl: job.s3Endpoint, env: {}, ...S3RVER_KEYS }))
  : job.url.startsWith("oci")
  ? new OciMirror(job.url)
  : new UrlMirror(new FsStore(job.url));
const specs = syntheticSpecs(job.count, job.seed, job.prefix);
if (job.indexEach) {
  for (const spec of specs) {
    await pushSynthetic(mirror, [spec]);
    await mirror.updateIndex();
  }
} else {
  await pushSynthetic(mirror, specs);
  await mirror.updateIndex();
}
console.log(JSON.stringify(specs.map((s) => s.node.hash)));
