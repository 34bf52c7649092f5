/**
 * Push and install throughput of Spackle beside the standard tools, on one synthetic install tree
 * (`_synthetic_store.ts`), in one run:
 *
 * - push: `pushSpecs` to a temporary filesystem cache, beside `tar -c | gzip -6 > file` (and
 *   `pigz -6` when installed) of each spec prefix;
 * - install: `installSpecs` into a short root (unsigned), and the CLI's `install` as a process,
 *   beside `gzip -dc | tar -x` (and `pigz -dc`) of the same tarballs;
 * - peak RSS of a Spackle install in a child process (`tests/install/_install_subprocess.ts`),
 *   from GNU time and from the child's own `VmHWM`;
 * - a stage breakdown of push and install (one run, `_stages.ts`).
 *
 * MB/s is the tree's uncompressed bytes (10^6) per wall second; each figure is the median of
 * `--runs` runs (default 3). Dirty pages are flushed before every timed run.
 *
 *     deno run -A bench/push_install_ratio.ts --mb 300 [--runs 3]
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { installSpecs } from "../lib/install/install.ts";
import { openMirror } from "../lib/mirror/open.ts";
import { pushSpecs } from "../lib/push/push.ts";
import { openStore } from "../lib/store/mod.ts";
import { blobKey } from "../lib/buildcache/layout.ts";
import {
  fixed,
  GNU_TIME,
  hasCommand,
  median,
  medianOf,
  removeAndSync,
  shellQuote,
  table,
  timeInProcess,
  timeShell,
  type Timing,
} from "./_measure.ts";
import { installStages, pushStages, type StageTiming } from "./_stages.ts";
import { createSyntheticStore } from "./_synthetic_store.ts";

const REPO = new URL("..", import.meta.url).pathname;
const INSTALL_CHILD = join(REPO, "tests/install/_install_subprocess.ts");

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
  },
});
const runs = Number(values.runs);
const gnuTime = await hasCommand(GNU_TIME);
const pigz = await hasCommand("pigz");
const work = await Deno.makeTempDir({ prefix: "spackle-ratio-bench-" });
const fresh = removeAndSync;
const q = shellQuote;

try {
  console.log(`generating a ${values.mb} MB synthetic install tree in ${work} …`);
  const synthetic = await createSyntheticStore(join(work, "store"), { mb: Number(values.mb) });
  const store = await openStore(synthetic.dir);
  const treeMb = synthetic.bytes / 1e6;

  // --- push ---
  const cache = join(work, "cache");
  const spackle1 = await medianOf(
    runs,
    () => fresh(cache),
    () =>
      timeInProcess(async () =>
        await pushSpecs(await openMirror(cache), store, store.specs, { jobs: 1 })
      ),
  );
  const spackle2 = await medianOf(
    runs,
    () => fresh(cache),
    () => timeInProcess(async () => await pushSpecs(await openMirror(cache), store, store.specs)),
  );
  // One tar | compressor pipeline per spec prefix, in turn, as push makes one tarball per spec.
  const refOut = join(work, "ref");
  const packAll = (compressor: string) =>
    store.specs.map((s, i) =>
      `tar -cf - -C ${q(join(s.dir, ".."))} ${q(s.dir.split("/").pop()!)} | ${compressor} > ${
        q(join(refOut, `${i}.tar.gz`))
      }`
    ).join(" && ");
  const refPrepare = async () => {
    await fresh(refOut);
    await Deno.mkdir(refOut);
  };
  const gzipPush = await medianOf(runs, refPrepare, () => timeShell(packAll("gzip -6"), gnuTime));
  const pigzPush = pigz
    ? await medianOf(runs, refPrepare, () => timeShell(packAll("pigz -6"), gnuTime))
    : undefined;

  // The last Spackle push stays: the install runs read its cache.
  const mirror = await openMirror(cache);
  const cached = await mirror.listSpecs();
  const blobs: string[] = [];
  for (const spec of cached) {
    const [algorithm, hex] = (await mirror.getEntry(spec))!.tarball.digest.split(":");
    blobs.push(join(cache, blobKey(algorithm, hex)));
  }
  let blobBytes = 0;
  for (const blob of blobs) blobBytes += (await Deno.stat(blob)).size;

  // --- install ---
  const root = join(work, "sw");
  const install = await medianOf(
    runs,
    () => fresh(root),
    () =>
      timeInProcess(async () =>
        await installSpecs(mirror, cached, { root, checkSignature: false })
      ),
  );
  // The CLI as a user runs it: a fresh process, startup and module loading included.
  const cliInstall = await medianOf(runs, () => fresh(root), () =>
    timeShell(
      `${q(Deno.execPath())} run -A ${q(join(REPO, "cli.ts"))} install ${q(cache)} bench-app ` +
        `--root ${q(root)} --no-check-signature > /dev/null`,
      gnuTime,
    ));
  const unpackAll = (decompressor: string) =>
    blobs.map((blob) => `${decompressor} ${q(blob)} | tar -xf - -C ${q(root)}`).join(" && ");
  const unpackPrepare = async () => {
    await fresh(root);
    await Deno.mkdir(root);
  };
  const gzipInstall = await medianOf(
    runs,
    unpackPrepare,
    () => timeShell(unpackAll("gzip -dc"), gnuTime),
  );
  const pigzInstall = pigz
    ? await medianOf(runs, unpackPrepare, () => timeShell(unpackAll("pigz -dc"), gnuTime))
    : undefined;

  // --- peak RSS of an install in its own process ---
  const rss: { gnu?: number; self: number }[] = [];
  for (let i = 0; i < runs; i++) {
    await fresh(root);
    rss.push(await installChild(cache, root, gnuTime));
  }

  // --- stages (one run each) ---
  await fresh(root);
  const scratch = join(work, "stages");
  await Deno.mkdir(scratch);
  const push = await pushStages(store, scratch);
  await fresh(scratch);
  await Deno.mkdir(scratch);
  const inst = await installStages(mirror, root, scratch);

  // --- report ---
  const rate = (t: Timing) => treeMb / t.wall;
  const row = (op: string, tool: string, t: Timing, spackle?: Timing) => [
    op,
    tool,
    fixed(t.wall, 2),
    fixed(rate(t)),
    fixed(t.cpu, 2),
    spackle ? fixed(rate(spackle) / rate(t), 2) : "",
  ];
  console.log(
    `\ntree: ${fixed(treeMb)} MB in ${synthetic.files} files, ${synthetic.specs.length} specs; ` +
      `tarballs ${fixed(blobBytes / 1e6)} MB (gzip ratio ${
        fixed(synthetic.bytes / blobBytes, 2)
      })` +
      `\nmedian of ${runs} runs; MB/s = uncompressed MB per wall second; CPU = user + system s` +
      `\nSpackle ÷ tool: Spackle's MB/s over the tool's (> 1: Spackle is faster), against ` +
      `push jobs 1 for gzip, push jobs 2 for pigz (both use 2 cores)\n`,
  );
  const rows = [
    row("push", "spackle pushSpecs (jobs 1)", spackle1),
    row("push", "spackle pushSpecs (jobs 2, default)", spackle2),
    row("push", "tar -c | gzip -6 > file", gzipPush, spackle1),
    ...(pigzPush ? [row("push", "tar -c | pigz -6 > file", pigzPush, spackle2)] : []),
    row("install", "spackle installSpecs", install),
    row("install", "gzip -dc | tar -x", gzipInstall, install),
    ...(pigzInstall ? [row("install", "pigz -dc | tar -x", pigzInstall, install)] : []),
    row("install", "spackle install (CLI process)", cliInstall),
    row("install", "gzip -dc | tar -x (vs the CLI)", gzipInstall, cliInstall),
    ...(pigzInstall
      ? [row("install", "pigz -dc | tar -x (vs the CLI)", pigzInstall, cliInstall)]
      : []),
  ];
  console.log(table(["", "tool", "wall s", "MB/s", "CPU s", "Spackle ÷ tool"], rows));

  const selfRss = rss.map((r) => r.self / 1024);
  const gnuRss = rss.flatMap((r) => (r.gnu === undefined ? [] : [r.gnu / 1024]));
  const spread = (v: number[]) =>
    `median ${fixed(median(v))} MiB (min ${fixed(Math.min(...v))}, max ${fixed(Math.max(...v))})`;
  console.log(`\npeak RSS of a Spackle install process (${runs} runs of ${fixed(treeMb)} MB):`);
  console.log(`  VmHWM reported by the child: ${spread(selfRss)}`);
  if (gnuRss.length) console.log(`  GNU time maximum resident:  ${spread(gnuRss)}`);
  // An existing, empty cache: a missing one is an error.
  await Deno.mkdir(join(work, "empty-cache"), { recursive: true });
  const baseline = await installChild(join(work, "empty-cache"), join(work, "empty-root"), false);
  console.log(`  same child, empty cache:     ${fixed(baseline.self / 1024)} MiB (Deno baseline)`);

  const stageRows = (label: string, list: StageTiming[]) =>
    list.map((s) => [label, s.stage, fixed(s.timing.wall, 2), fixed(rate(s.timing))]);
  console.log("\nstages (one run each, summed over specs; MB/s of the uncompressed tree):");
  console.log(table(["", "stage", "wall s", "MB/s"], [
    ...stageRows("push", push),
    ...stageRows("install", inst),
  ]));
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

/** Runs an install in a child Deno process; peak RSS in KiB from GNU time and from the child. */
async function installChild(
  cache: string,
  root: string,
  underGnuTime: boolean,
): Promise<{ gnu?: number; self: number }> {
  const deno = [Deno.execPath(), "run", "-A", INSTALL_CHILD, cache, root];
  const [cmd, ...args] = underGnuTime ? [GNU_TIME, "-v", ...deno] : deno;
  const out = await new Deno.Command(cmd, { args, cwd: REPO, stdout: "piped", stderr: "piped" })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`install child failed:\n${stderr}`);
  const report = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  const gnu = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
  return { self: report.vmHwmKiB, gnu: gnu === undefined ? undefined : Number(gnu) };
}
