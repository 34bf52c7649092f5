/**
 * Builds the sample install tree once and stores it in `data/` (committed as data):
 * `sample-libgreet` (a shared library) and `sample-hello` (a program using it), compiled with
 * gcc into a padded Spack-style store at a fixed absolute root, with `.spack/spec.json`, the
 * install-tree database and Spack's sbang. Then the copy is checked: `data/` is put back at the
 * recorded root and `bin/hello` must print `RESULT OK`.
 *
 * Needs gcc, strip, readelf, GNU cp, and write access to /opt (run as root):
 *
 *     deno run -A examples/sample-store/build.ts [--force]
 *
 * `--force` removes a leftover /opt/spackle-sample first.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { base32, dagHash } from "../../lib/spec/hash.ts";
import { compactJson } from "../../lib/spec/json.ts";
import { type ConcreteSpec, type SpecNode, toSpecFile } from "../../lib/spec/spec.ts";
import { addInstalled, openStore, paddedRoot, relativePrefix } from "../../lib/store/mod.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, "src");
const DATA = join(HERE, "data");
/** Created for the build and removed afterwards. */
const BASE = "/opt/spackle-sample";
const UNPADDED_ROOT = `${BASE}/store`;
/** `install_tree: {root: /opt/spackle-sample/store, padded_length: 128}`. */
const ROOT = paddedRoot(UNPADDED_ROOT, 128);
const SBANG = `${UNPADDED_ROOT}/bin/sbang`;
/** Linux cuts shebang lines at 127 bytes on old kernels; Spack's sbang hook keeps that limit. */
const SHEBANG_LIMIT = 127;
const NAMESPACE = "spackle_sample";

const ARCH = { platform: "linux", platform_os: "debian12", target: "x86_64" };
const PARAMETERS = {
  build_system: "generic",
  cflags: [],
  cppflags: [],
  cxxflags: [],
  fflags: [],
  ldflags: [],
  ldlibs: [],
};

async function main(): Promise<void> {
  if (Deno.build.arch !== "x86_64" || Deno.build.os !== "linux") {
    throw new Error("the sample store is built for linux-x86_64");
  }
  if (await exists(BASE)) {
    if (!Deno.args.includes("--force")) {
      throw new Error(`${BASE} exists; remove it or pass --force`);
    }
    await Deno.remove(BASE, { recursive: true });
  }
  try {
    const specs = await buildStore();
    await copyTree(UNPADDED_ROOT, DATA, { fresh: true });
    await writeStoreJson(specs);
    await Deno.remove(BASE, { recursive: true });
    await verifyCopy(specs);
  } finally {
    await Deno.remove(BASE, { recursive: true }).catch(() => {});
  }
}

/** Specs of the store, and their prefixes at the recorded root. */
interface Built {
  glibc: ConcreteSpec;
  greet: ConcreteSpec;
  hello: ConcreteSpec;
  greetPrefix: string;
  helloPrefix: string;
}

async function buildStore(): Promise<Built> {
  const glibcVersion = (await run("getconf", ["GNU_LIBC_VERSION"])).trim().split(" ")[1];
  const glibc = concrete(node("glibc", glibcVersion, hashText(`glibc@${glibcVersion} external`), {
    external: { path: "/usr", module: null, extra_attributes: {} },
  }));
  const libc = {
    name: "glibc",
    hash: glibc.node.hash,
    parameters: { deptypes: ["link"], virtuals: ["libc"] },
  };
  const greet = concrete(
    node("sample-libgreet", "1.0", await hashSources("sample-libgreet"), { dependencies: [libc] }),
    glibc,
  );
  const hello = concrete(
    node("sample-hello", "1.0", await hashSources("sample-hello"), {
      dependencies: [libc, {
        name: "sample-libgreet",
        hash: greet.node.hash,
        parameters: { deptypes: ["build", "link", "run"], virtuals: [] },
      }],
    }),
    greet,
  );
  const greetPrefix = `${ROOT}/${relativePrefix(greet.node)}`;
  const helloPrefix = `${ROOT}/${relativePrefix(hello.node)}`;

  await installSbang();
  const greetLog = await buildGreet(greetPrefix);
  const helloLog = await buildHello(helloPrefix, greetPrefix);
  await writeMetadata(greetPrefix, greet, greetLog);
  await writeMetadata(helloPrefix, hello, helloLog);
  const db = await addInstalled(ROOT, [hello], new Set([hello.node.hash]));
  console.log(`database: ${db.installs.size} records at ${ROOT}/.spack-db`);

  const out = await run(join(helloPrefix, "bin", "hello"), [], { clearEnv: true });
  if (!out.includes("RESULT OK")) throw new Error(`bin/hello failed in place:\n${out}`);
  return { glibc, greet, hello, greetPrefix, helloPrefix };
}

/** A node in Spack's serialisation order (build cache format reference §3.2), hashed. */
function node(
  name: string,
  version: string,
  packageHash: string,
  extra: { external?: unknown; dependencies?: unknown[] },
): SpecNode {
  const n: Record<string, unknown> = {
    name,
    version,
    arch: ARCH,
    namespace: NAMESPACE,
    parameters: PARAMETERS,
  };
  if (extra.external) n.external = extra.external;
  n.package_hash = packageHash;
  // Edges sorted by dependency name (these never share a name).
  if (extra.dependencies) {
    n.dependencies = [...extra.dependencies].sort((a, b) =>
      (a as { name: string }).name < (b as { name: string }).name ? -1 : 1
    );
  }
  n.annotations = { original_specfile_version: 5 };
  n.hash = dagHash(n);
  return n as SpecNode;
}

function concrete(root: SpecNode, ...deps: ConcreteSpec[]): ConcreteSpec {
  const nodes = new Map<string, SpecNode>([[root.hash, root]]);
  for (const d of deps) for (const [h, n] of d.nodes) nodes.set(h, n);
  return { node: root, nodes };
}

/** Stand-in for Spack's package_hash: base32 sha256 of the package's sources, `=`-padded. */
async function hashSources(pkg: string): Promise<string> {
  const h = createHash("sha256");
  const names = [...Deno.readDirSync(join(SRC, pkg))].map((e) => e.name).sort();
  for (const name of names) h.update(name).update(await Deno.readFile(join(SRC, pkg, name)));
  return base32(new Uint8Array(h.digest())) + "====";
}

function hashText(text: string): string {
  return base32(new Uint8Array(createHash("sha256").update(text).digest())) + "====";
}

async function installSbang(): Promise<void> {
  await Deno.mkdir(dirname(SBANG), { recursive: true });
  await Deno.copyFile(join(SRC, "sbang"), SBANG);
  await Deno.chmod(SBANG, 0o755);
}

async function buildGreet(prefix: string): Promise<string[]> {
  for (const d of ["include", "lib/pkgconfig", "share/sample-libgreet"]) {
    await Deno.mkdir(join(prefix, d), { recursive: true });
  }
  const log = [
    await gcc([
      "-O2",
      "-fPIC",
      "-shared",
      `-DGREET_PREFIX="${prefix}"`,
      `-DGREET_VERSION="1.0"`,
      "-Wl,-soname,libgreet.so.1",
      "-Wl,--enable-new-dtags",
      `-Wl,-rpath,${prefix}/lib`,
      "-o",
      join(prefix, "lib/libgreet.so.1.0"),
      "sample-libgreet/greet.c",
    ]),
  ];
  await Deno.symlink("libgreet.so.1.0", join(prefix, "lib/libgreet.so.1"));
  await Deno.symlink("libgreet.so.1", join(prefix, "lib/libgreet.so"));
  await Deno.copyFile(join(SRC, "sample-libgreet/greet.h"), join(prefix, "include/greet.h"));
  await Deno.writeTextFile(
    join(prefix, "lib/pkgconfig/sample-libgreet.pc"),
    [
      `prefix=${prefix}`,
      "exec_prefix=${prefix}",
      "libdir=${exec_prefix}/lib",
      "includedir=${prefix}/include",
      "",
      "Name: sample-libgreet",
      "Description: Greeting library of the Spackle sample store",
      "Version: 1.0",
      "Libs: -L${libdir} -Wl,-rpath,${libdir} -lgreet",
      "Cflags: -I${includedir}",
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(
    join(prefix, "share/sample-libgreet/data.txt"),
    `sample-libgreet 1.0 data file\ninstalled-at ${prefix}\n`,
  );
  log.push(await stripKeeping(join(prefix, "lib/libgreet.so.1.0"), [prefix], [`${prefix}/lib`]));
  return log;
}

async function buildHello(prefix: string, greetPrefix: string): Promise<string[]> {
  for (const d of ["bin", "share/sample-hello"]) {
    await Deno.mkdir(join(prefix, d), { recursive: true });
  }
  const runpath = [`${prefix}/lib`, `${greetPrefix}/lib`];
  const log = [
    await gcc([
      "-O2",
      `-DHELLO_PREFIX="${prefix}"`,
      `-DGREET_PREFIX="${greetPrefix}"`,
      `-DHELLO_VERSION="1.0"`,
      `-I${greetPrefix}/include`,
      "-o",
      join(prefix, "bin/hello"),
      "sample-hello/hello.c",
      `-L${greetPrefix}/lib`,
      "-lgreet",
      "-Wl,--enable-new-dtags",
      ...runpath.map((p) => `-Wl,-rpath,${p}`),
    ]),
  ];
  log.push(await stripKeeping(join(prefix, "bin/hello"), [prefix, greetPrefix], runpath));

  await Deno.symlink("/bin/sh", join(prefix, "bin/sample-sh"));
  await writeScript(
    join(prefix, "bin/hello-wrapper"),
    `#!/bin/sh\n# Runs sample-hello from its install prefix.\nexec "${prefix}/bin/hello" "$@"\n`,
  );
  // Its interpreter line is longer than the kernel limit, so it gets an sbang line first.
  await writeScript(
    join(prefix, "bin/hello-long-shebang"),
    withSbang(
      `#!${prefix}/bin/sample-sh\necho "long-shebang script in ${prefix}"\n` +
        `cat "${greetPrefix}/share/sample-libgreet/data.txt"\n`,
    ),
  );

  const config = join(prefix, "share/sample-hello/config.txt");
  await Deno.writeTextFile(
    config,
    `greeting=Hello from sample-hello\nprefix=${prefix}\ndep_prefix=${greetPrefix}\n`,
  );
  await Deno.link(config, join(prefix, "share/sample-hello/config-hardlink.txt"));
  await Deno.symlink(
    `${greetPrefix}/share/sample-libgreet/data.txt`,
    join(prefix, "share/sample-hello/dep-data.txt"),
  );
  return log;
}

/** Spack's build-time sbang hook: prepend `#!/bin/sh <sbang>` to an over-long shebang line. */
function withSbang(script: string): string {
  const firstLine = script.slice(0, script.indexOf("\n") + 1);
  if (new TextEncoder().encode(firstLine).length <= SHEBANG_LIMIT) return script;
  return `#!/bin/sh ${SBANG}\n${script}`;
}

async function writeScript(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o755);
}

/** Runs gcc in `src/` (so the build log names sources relative to it); returns the command. */
async function gcc(args: string[]): Promise<string> {
  await run("gcc", args, { cwd: SRC });
  return `gcc ${args.join(" ")}`;
}

/** Strips `file` unless that would lose its RUNPATH or the prefixes compiled into it. */
async function stripKeeping(file: string, strings: string[], runpath: string[]): Promise<string> {
  const before = await Deno.readFile(file);
  const copy = `${file}.stripped`;
  await run("strip", ["--strip-unneeded", "-o", copy, file]);
  const dynamic = await run("readelf", ["-d", copy]);
  const text = new TextDecoder("latin1").decode(await Deno.readFile(copy));
  const kept = dynamic.includes(`(RUNPATH)`) && dynamic.includes(`[${runpath.join(":")}]`) &&
    strings.every((s) => text.includes(`${s}\0`));
  if (!kept) {
    await Deno.remove(copy);
    return `# strip skipped for ${file}: it would lose the RUNPATH or prefix strings`;
  }
  await Deno.rename(copy, file);
  const after = (await Deno.stat(file)).size;
  return `strip --strip-unneeded ${file}  # ${before.length} -> ${after} bytes`;
}

/** `.spack/`: spec.json (compact, as Spack writes it), build log, install manifest. */
async function writeMetadata(prefix: string, spec: ConcreteSpec, log: string[]): Promise<void> {
  const meta = join(prefix, ".spack");
  await Deno.mkdir(meta, { recursive: true });
  await Deno.writeTextFile(join(meta, "spec.json"), compactJson(toSpecFile(spec)));
  await Deno.writeTextFile(join(meta, "spack-build-out.txt"), log.join("\n") + "\n");
  await Deno.writeTextFile(
    join(meta, "install_manifest.json"),
    compactJson(await manifest(prefix)),
  );
}

/** Spack's install manifest: lstat facts of every path in the prefix, sha1-base32 of files. */
async function manifest(prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const walk = async (dir: string) => {
    const entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1);
    for (const e of entries) {
      const path = join(dir, e.name);
      out[path] = await entry(path);
      if (e.isDirectory) await walk(path);
    }
  };
  await walk(prefix);
  out[prefix] = await entry(prefix);
  return out;
}

async function entry(path: string): Promise<Record<string, unknown>> {
  const st = await Deno.lstat(path);
  const data: Record<string, unknown> = { mode: st.mode, owner: st.uid, group: st.gid };
  if (st.isSymlink) data.dest = await Deno.readLink(path);
  else if (st.isFile) {
    const sha1 = createHash("sha1").update(await Deno.readFile(path)).digest();
    data.hash = base32(new Uint8Array(sha1));
    data.time = (st.mtime?.getTime() ?? 0) / 1000;
    data.size = st.size;
  }
  return data;
}

async function writeStoreJson(b: Built): Promise<void> {
  const rel = (p: string) => relative(UNPADDED_ROOT, p);
  const doc = {
    description: "Spack-style install tree built by build.ts; data/ is a copy of unpaddedRoot",
    root: ROOT,
    unpaddedRoot: UNPADDED_ROOT,
    sbang: rel(SBANG),
    database: rel(`${ROOT}/.spack-db/index.json`),
    specs: [b.hello, b.greet].map((s) => ({
      name: s.node.name,
      version: s.node.version,
      hash: s.node.hash,
      prefix: `${ROOT}/${relativePrefix(s.node)}`,
      dir: rel(`${ROOT}/${relativePrefix(s.node)}`),
      explicit: s === b.hello,
    })),
    externals: [{
      name: b.glibc.node.name,
      version: b.glibc.node.version,
      hash: b.glibc.node.hash,
      path: "/usr",
    }],
    // git keeps no hard links: re-link these after a checkout to restore the store exactly.
    hardlinks: [[
      rel(`${b.helloPrefix}/share/sample-hello/config.txt`),
      rel(`${b.helloPrefix}/share/sample-hello/config-hardlink.txt`),
    ]],
    run: rel(`${b.helloPrefix}/bin/hello`),
  };
  await Deno.writeTextFile(join(HERE, "store.json"), JSON.stringify(doc, null, 2) + "\n");
}

/** Puts `data/` back at the recorded root and runs the programs from there. */
async function verifyCopy(b: Built): Promise<void> {
  await copyTree(DATA, UNPADDED_ROOT, { fresh: true });
  const hello = await run(join(b.helloPrefix, "bin/hello"), [], { clearEnv: true });
  const wrapper = await run(join(b.helloPrefix, "bin/hello-wrapper"), [], { clearEnv: true });
  const long = await run(join(b.helloPrefix, "bin/hello-long-shebang"), [], { clearEnv: true });
  console.log(hello);
  if (!hello.endsWith("RESULT OK\n") || !wrapper.endsWith("RESULT OK\n")) {
    throw new Error("bin/hello from the copied store did not print RESULT OK");
  }
  if (!long.startsWith(`long-shebang script in ${b.helloPrefix}\n`)) {
    throw new Error(`bin/hello-long-shebang printed:\n${long}`);
  }
  const store = await openStore(DATA);
  if (store.root !== ROOT || store.resolve("sample-hello").prefix !== b.helloPrefix) {
    throw new Error(`openStore(data/) read root ${store.root}, expected ${ROOT}`);
  }
  const size = await run("du", ["-sb", DATA]);
  console.log(`data/: ${size.split("\t")[0]} bytes; verified from ${UNPADDED_ROOT}`);
}

async function copyTree(from: string, to: string, opts: { fresh: boolean }): Promise<void> {
  if (opts.fresh) await Deno.remove(to, { recursive: true }).catch(() => {});
  await Deno.mkdir(to, { recursive: true });
  await run("cp", ["-a", `${from}/.`, to]); // -a keeps symlinks, hard links and modes
}

async function run(
  cmd: string,
  args: string[],
  opts: { clearEnv?: boolean; cwd?: string } = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, { args, clearEnv: opts.clearEnv, cwd: opts.cwd })
    .output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed:\n${stdout}${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return stdout;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) await main();
