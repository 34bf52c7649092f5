/**
 * Installing a root whose closure is many small specs (`createSyntheticDag`), where per-spec
 * latency (fetch, verify, open, write, database) rather than gunzip dominates, in one run:
 *
 * - `installSpecs` from a filesystem build cache and from an OCI registry on loopback (Debian's
 *   `docker-registry`, plain HTTP), at `jobs` 1 and at the jobs given by `--jobs` (default 1, 2,
 *   4 and 8), in specs per second;
 * - the CLI as a process (`cli.ts install`, default jobs) beside `gzip -dc | tar -x` and
 *   `pigz -dc | tar -x` of the same tarballs, one pipeline per tarball, in turn;
 * - a stage breakdown (`_stages.ts`) over the same cache.
 *
 * Each figure is the median of `--runs` runs (default 3); dirty pages are flushed before each.
 * The machine's load average is printed before and after: other work on a shared machine moves
 * wall times a lot.
 *
 *     deno run -A bench/install_many.ts [--specs 200] [--kb 150] [--runs 3] [--jobs 1,2,4,8]
 *
 * @module
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { blobKey } from "../lib/buildcache/layout.ts";
import { installSpecs } from "../lib/install/install.ts";
import { OciMirror } from "../lib/mirror/oci.ts";
import { openMirror } from "../lib/mirror/open.ts";
import type { Mirror } from "../lib/mirror/types.ts";
import { pushSpecs } from "../lib/push/push.ts";
import { openStore } from "../lib/store/mod.ts";
import { startRegistry } from "../tests/_support/registry.ts";
import {
  fixed,
  GNU_TIME,
  hasCommand,
  medianOf,
  removeAndSync,
  shellQuote,
  table,
  timeInProcess,
  timeShell,
  type Timing,
} from "./_measure.ts";
import { installStages } from "./_stages.ts";
import { createSyntheticDag } from "./_synthetic_store.ts";

const REPO = new URL("..", import.meta.url).pathname;

const { values } = parseArgs({
  options: {
    specs: { type: "string", default: "200" },
    kb: { type: "string", default: "150" },
    runs: { type: "string", default: "3" },
    jobs: { type: "string", default: "1,2,4,8" },
  },
});
const runs = Number(values.runs);
const jobList = values.jobs.split(",").map(Number);
const gnuTime = await hasCommand(GNU_TIME);
const pigz = await hasCommand("pigz");
const work = await Deno.makeTempDir({ prefix: "spackle-install-many-" });
const q = shellQuote;
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
const fresh = removeAndSync;

const registry = await startRegistry();
try {
  console.log(`load average before: ${load()}`);
  console.log(`generating ${values.specs} specs of ${values.kb} KB in ${work} …`);
  const synthetic = await createSyntheticDag(join(work, "store"), {
    specs: Number(values.specs),
    kbPerSpec: Number(values.kb),
  });
  const store = await openStore(synthetic.dir);
  const cache = join(work, "cache");
  await pushSpecs(await openMirror(cache), store, store.specs, { updateIndex: true });
  const oci = new OciMirror(`oci+http://${registry.host}/bench/many`, {
    registry: { credentials: () => Promise.resolve(undefined) },
  });
  await pushSpecs(oci, store, store.specs, { updateIndex: true });
  const fsMirror = await openMirror(cache);
  const count = synthetic.specs.length;
  const top = synthetic.specs[count - 1].spec;

  const root = join(work, "sw");
  const install = (mirror: Mirror, jobs?: number) =>
    medianOf(runs, () => fresh(root), () =>
      timeInProcess(async () => {
        const result = await installSpecs(mirror, [top], { root, checkSignature: false, jobs });
        if (result.installed.size !== count) throw new Error("not everything was installed");
      }));
  const rows: string[][] = [];
  const rate = (t: Timing) => count / t.wall;
  for (const [label, mirror] of [["filesystem", fsMirror], ["registry", oci]] as const) {
    const one = await install(mirror, 1);
    for (const jobs of jobList) {
      const t = jobs === 1 ? one : await install(mirror, jobs);
      rows.push([
        label,
        `installSpecs jobs ${jobs}`,
        fixed(t.wall, 2),
        fixed(rate(t)),
        fixed(t.cpu, 2),
        fixed(rate(t) / rate(one), 2),
      ]);
      console.log(`  ${rows.at(-1)!.slice(0, 4).join("  ")} (load ${load()})`);
    }
  }

  // --- the CLI as a process beside the standard tools, on the filesystem cache's tarballs ---
  const blobs: string[] = [];
  for (const spec of await fsMirror.listSpecs()) {
    const [algorithm, hex] = (await fsMirror.getEntry(spec))!.tarball.digest.split(":");
    blobs.push(join(cache, blobKey(algorithm, hex)));
  }
  const cli = await medianOf(runs, () => fresh(root), () =>
    timeShell(
      `${q(Deno.execPath())} run -A ${q(join(REPO, "cli.ts"))} install ${q(cache)} bench-root ` +
        `--root ${q(root)} --no-check-signature > /dev/null`,
      gnuTime,
    ));
  const unpackAll = (decompressor: string) =>
    blobs.map((blob) => `${decompressor} ${q(blob)} | tar -xf - -C ${q(root)}`).join(" && ");
  const unpackPrepare = async () => {
    await fresh(root);
    await Deno.mkdir(root);
  };
  const gzip = await medianOf(runs, unpackPrepare, () => timeShell(unpackAll("gzip -dc"), gnuTime));
  const pigzT = pigz
    ? await medianOf(runs, unpackPrepare, () => timeShell(unpackAll("pigz -dc"), gnuTime))
    : undefined;
  const toolRow = (tool: string, t: Timing) => [
    "tools",
    tool,
    fixed(t.wall, 2),
    fixed(rate(t)),
    fixed(t.cpu, 2),
    fixed(rate(cli) / rate(t), 2),
  ];
  rows.push(["process", "spackle install (CLI, default jobs)", ...[
    fixed(cli.wall, 2),
    fixed(rate(cli)),
    fixed(cli.cpu, 2),
    "",
  ]]);
  rows.push(toolRow("gzip -dc | tar -x", gzip));
  if (pigzT) rows.push(toolRow("pigz -dc | tar -x", pigzT));

  // --- stages, one run over the filesystem cache ---
  await fresh(root);
  const scratch = join(work, "stages");
  await Deno.mkdir(scratch);
  const stages = await installStages(fsMirror, root, scratch);

  console.log(
    `\n${count} specs, ${fixed(synthetic.bytes / 1e6)} MB in ${synthetic.files} files; ` +
      `median of ${runs} runs; specs/s = specs installed per wall second; CPU = user + system s` +
      `\nlast column: installSpecs over its jobs-1 run; tools: the CLI's specs/s over the tool's\n`,
  );
  console.log(
    table(["source", "what", "wall s", "specs/s", "CPU s", "ratio"], rows),
  );
  console.log("\nstages (one run each, summed over specs):");
  console.log(table(
    ["stage", "wall s", "specs/s"],
    stages.map((s) => [s.stage, fixed(s.timing.wall, 2), fixed(count / s.timing.wall)]),
  ));
  console.log(`\nload average after: ${load()}`);
} finally {
  await registry.stop();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
