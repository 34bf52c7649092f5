/**
 * Throughput of text and binary relocation on realistic data (relocation reference §3.1):
 * real shared libraries from /usr/lib/x86_64-linux-gnu and real text files from /usr/include,
 * with rare occurrences of a 42-key padded prefix map (sbang path, 40 package prefixes under
 * the padded root `PAD`, `PAD` itself) injected. Baseline: `Uint8Array.indexOf` over the same
 * bytes. Run with `deno bench -A bench/relocate_bench.ts`; MB/s = corpus size / time per run.
 */
import { join } from "node:path";
import {
  createFileClassifier,
  relocateBinaryFile,
  relocateBinaryStream,
  relocateTextFile,
  relocateTextStream,
} from "../lib/relocate/mod.ts";

const CORPUS_BYTES = 32 << 20;
const CHUNK = 64 << 10;
const OCCURRENCES = 1024;

const PAD = "/opt/spack" + "/__spack_path_placeholder__".repeat(4) + "/__spack_p";
const map = new Map<string, string>([["/opt/spack/bin/sbang", "/usr/sw/bin/sbang"]]);
for (let i = 0; i < 40; i++) {
  const name = `pkg${i}-1.${i}-${(i * 7919).toString(32).padStart(4, "a")}${
    "abcdefghijklmnopqrstuvwxyz234567".slice(4)
  }`;
  map.set(`${PAD}/linux-x86_64/${name}`, `/usr/sw/linux-x86_64/${name}`);
}
map.set(PAD, "/usr/sw");
const keys = [...map.keys()];

/** Deterministic PRNG so every run measures the same bytes. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
}

/** Regular files below `dir` whose name `accept`s, in a stable order. */
function* walk(dir: string, accept: (name: string) => boolean): Generator<string> {
  const entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1);
  for (const e of entries) {
    if (e.isDirectory) yield* walk(join(dir, e.name), accept);
    else if (e.isFile && accept(e.name)) yield join(dir, e.name);
  }
}

/** Concatenates the files of `walk(dir, accept)` up to `CORPUS_BYTES`, then injects occurrences. */
async function corpus(
  dir: string,
  accept: (name: string) => boolean,
  occurrence: (key: string) => string,
): Promise<Uint8Array> {
  const out = new Uint8Array(CORPUS_BYTES);
  let at = 0;
  for (const path of walk(dir, accept)) {
    if (at >= out.length) break;
    const data = await Deno.readFile(path);
    const n = Math.min(data.length, out.length - at);
    out.set(data.subarray(0, n), at);
    at += n;
  }
  if (at < out.length) throw new Error(`${dir}: only ${at} bytes of input`);
  const rng = random(42);
  const encoder = new TextEncoder();
  for (let i = 0; i < OCCURRENCES; i++) {
    const bytes = encoder.encode(occurrence(keys[Math.floor(rng() * keys.length)]));
    out.set(bytes, Math.floor(rng() * (out.length - bytes.length)));
  }
  return out;
}

const binary = await corpus(
  "/usr/lib/x86_64-linux-gnu",
  (n) => n.includes(".so"),
  (k) => `${k}/lib/libfoo.so.1\0`,
);
const text = await corpus("/usr/include", (n) => n.endsWith(".h"), (k) => ` -L${k}/lib `);
console.log(
  `corpus: ${CORPUS_BYTES >> 20} MiB each, ${OCCURRENCES} occurrences of ${keys.length} keys`,
);

function chunksOf(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += CHUNK) out.push(data.slice(i, i + CHUNK));
  return out;
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const piece of stream) n += piece.length;
  return n;
}

/**
 * The least frequent byte of the keys' common prefix `/opt/spack/` in `data`: visiting each of
 * its occurrences with `indexOf` is the least any anchored search has to do.
 */
function rarestAnchorByte(data: Uint8Array): number {
  const counts = new Uint32Array(256);
  for (const b of data) counts[b]++;
  const anchor = new TextEncoder().encode("/opt/spack/");
  return anchor.reduce((best, b) => counts[b] < counts[best] ? b : best, anchor[0]);
}

function indexOfEvery(data: Uint8Array, byte: number): number {
  let n = 0;
  for (let i = data.indexOf(byte); i >= 0; i = data.indexOf(byte, i + 1)) n++;
  return n;
}

const binaryByte = rarestAnchorByte(binary);
const textByte = rarestAnchorByte(text);
console.log(
  `rarest anchor byte: binary ${String.fromCharCode(binaryByte)} ` +
    `(${indexOfEvery(binary, binaryByte)} times), text ${String.fromCharCode(textByte)} ` +
    `(${indexOfEvery(text, textByte)} times)`,
);

Deno.bench("baseline: indexOf over each rarest anchor byte, binary", {
  group: "binary",
  baseline: true,
}, () => {
  indexOfEvery(binary, binaryByte);
});

Deno.bench("baseline: indexOf over each rarest anchor byte, text", {
  group: "text",
  baseline: true,
}, () => {
  indexOfEvery(text, textByte);
});

Deno.bench("binary: relocateBinaryStream, 64 KiB chunks", { group: "binary" }, async (b) => {
  const chunks = chunksOf(binary); // fresh copies: the stream rewrites them in place
  b.start();
  await drain(ReadableStream.from(chunks).pipeThrough(relocateBinaryStream(map)));
  b.end();
});

Deno.bench("text: relocateTextStream, 64 KiB chunks", { group: "text" }, async (b) => {
  const chunks = chunksOf(text);
  b.start();
  await drain(ReadableStream.from(chunks).pipeThrough(relocateTextStream(map)));
  b.end();
});

// Worst case for classification: valid UTF-8 throughout (the header corpus is not: some are
// Latin-1) and prefixes that never occur, so every check has to see every byte.
const asciiText = text.map((b) => b === 0 || b > 0x7e ? 0x20 : b);
const absent = keys.map((k) => k.replace("/opt/spack", "/opt/spock"));

Deno.bench("text: push-time classification (whole file checked), 64 KiB chunks", {
  group: "text",
}, () => {
  const classifier = createFileClassifier(absent);
  for (let i = 0; i < asciiText.length; i += CHUNK) {
    classifier.update(asciiText.subarray(i, i + CHUNK));
  }
  const { type, listed } = classifier.finish();
  if (type !== "text" || listed) throw new Error(`unexpected classification ${type} ${listed}`);
});

const dir = await Deno.makeTempDir({ prefix: "spackle-bench-" });
const file = join(dir, "libbig.so");
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

Deno.bench("binary: relocateBinaryFile (page cache)", { group: "binary" }, async (b) => {
  await Deno.writeFile(file, binary);
  b.start();
  await relocateBinaryFile(file, map);
  b.end();
});

const textFile = join(dir, "big.h");

Deno.bench("text: relocateTextFile (page cache)", { group: "text" }, async (b) => {
  await Deno.writeFile(textFile, text);
  b.start();
  await relocateTextFile(textFile, map);
  b.end();
});
