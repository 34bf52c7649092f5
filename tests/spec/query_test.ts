import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { NotFoundError, UsageError } from "../../lib/errors.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { SpecSyntaxError } from "../../lib/spec/errors.ts";
import { matchesQuery, parseSpecQuery } from "../../lib/spec/query.ts";
import { matchesSelector, selectSpecs } from "../../lib/spec/select.ts";
import { type ConcreteSpec, parseSpecFile, specFromNodes } from "../../lib/spec/spec.ts";
import { HARNESS, SPACK12, TESTDATA, V2_MIRRORS } from "../_support/fixtures.ts";

const SPECFILES = join(TESTDATA, "lib/spack/spack/test/data/specfiles");

function specFile(path: string): ConcreteSpec {
  const bytes = Deno.readFileSync(path);
  const text = new TextDecoder().decode(path.endsWith(".gz") ? gunzipSync(bytes) : bytes);
  return parseSpecFile(JSON.parse(text), path);
}

/** The concrete specs the table rows name: Spack 1.2's cache, and spec files of formats 1 to 5. */
async function loadSpecs(): Promise<Record<string, ConcreteSpec>> {
  const listed = await (await openMirror(join(SPACK12, "fs-unsigned"))).listSpecs();
  const hello = listed.find((s) => s.node.hash === HARNESS.hello)!;
  const libdep = listed.find((s) => s.node.hash === HARNESS.libdep)!;
  const v2 = join(V2_MIRRORS, "unsigned/build_cache");
  return {
    hello,
    libdep,
    glibc: specFromNodes(HARNESS.glibc, hello.nodes),
    "v1-013": specFile(join(SPECFILES, "hdf5.v013.json.gz")),
    "v1-016": specFile(join(SPECFILES, "hdf5.v016.json.gz")),
    "v2-017": specFile(join(SPECFILES, "hdf5.v017.json.gz")),
    "v3-019": specFile(join(SPECFILES, "hdf5.v019.json.gz")),
    "v4-020": specFile(join(SPECFILES, "hdf5.v020.json.gz")),
    "v3-archive": specFile(join(
      TESTDATA,
      "_from-spack-0.23/lib/spack/spack/test/data/mirrors/legacy_layout/build_cache",
      "test-debian6-core2-gcc-4.5.0-archive-files-2.0-l3vdiqvbobmspwyb4q2b62fz6nitd4hk.spec.json",
    )),
    "v4-libdwarf": specFile(join(
      v2,
      "test-debian6-core2-gcc-10.2.1-libdwarf-20130729-sk2gqqz4n5njmvktycnd25wq25jxiqkr.spec.json",
    )),
    "v5-libdwarf": specFile(join(
      v2,
      "test-debian6-m1-gcc-10.2.1-libdwarf-20130729-u5uz3dcch5if4eve4sef67o2rf2lbfgh.spec.json",
    )),
    "v5-zlibng": specFile(
      join(TESTDATA, "_generated/spec-hash-vector/zlib-ng-synthetic.spec.json"),
    ),
  };
}

/** [query, spec, expected]: what Spack's `satisfies` answers for that concrete spec. */
const ROWS: [string, string, boolean][] = [
  // Spack 1.2 harness-hello 1.0 (linux-debian12-x86_64, namespace harness): glibc (external,
  // link, virtual libc) and harness-libdep (build, link, run).
  ["harness-hello", "hello", true],
  ["harness-libdep", "hello", false],
  ["harness-hello@1.0", "hello", true],
  ["harness-hello@1", "hello", true],
  ["harness-hello@=1", "hello", false],
  ["harness-hello@=1.0", "hello", true],
  ["harness-hello@1.0.1", "hello", false],
  ["harness-hello@0.9:", "hello", true],
  ["harness-hello@:0.9", "hello", false],
  ["harness-hello@1.1:", "hello", false],
  ["harness-hello@0.5,1.0", "hello", true],
  ["harness-hello@0.5, 0.7", "hello", false],
  ["@1.0", "hello", true],
  ["/hkbpthod", "hello", true],
  ["/hkbpthod3rj3wdmbruquumixalrd6svw", "hello", true],
  ["/6zoo", "hello", false],
  ["harness-hello/hkb", "hello", true],
  ["harness-libdep/hkb", "hello", false],
  ["harness.harness-hello", "hello", true],
  ["builtin.harness-hello", "hello", false],
  ["namespace=harness", "hello", true],
  ["build_system=generic", "hello", true],
  ["build_system=cmake", "hello", false],
  ["+shared", "hello", false],
  ["~shared", "hello", false],
  ["cflags=-O2", "hello", false],
  ["arch=linux-debian12-x86_64", "hello", true],
  ["arch=linux-debian11-x86_64", "hello", false],
  ["harness-hello arch=linux-None-x86_64", "hello", true],
  ["platform=linux", "hello", true],
  ["platform=darwin", "hello", false],
  ["os=debian12", "hello", true],
  ["target=x86_64", "hello", true],
  ["target=aarch64", "hello", false],
  ["target=aarch64,x86_64", "hello", true],
  ["^harness-libdep", "hello", true],
  ["^harness-libdep@1.0", "hello", true],
  ["^harness-libdep@2:", "hello", false],
  ["^glibc", "hello", true],
  ["^glibc@2.36", "hello", true],
  ["^glibc@2.35", "hello", false],
  ["^glibc@2.30:2.40", "hello", true],
  ["^libc", "hello", true],
  ["^libc=glibc", "hello", true],
  ["^mpi=glibc", "hello", false],
  ["^libc@2.36", "hello", false],
  ["%harness-libdep", "hello", true],
  ["%glibc", "hello", true],
  ["%harness-hello", "hello", false],
  ["^harness-hello", "hello", false],
  ["%gcc", "hello", false],
  ["harness-hello %[deptypes=build,link,run] harness-libdep", "hello", true],
  ["harness-hello %[deptypes=build] glibc", "hello", false],
  ["^/ulch6p", "hello", true],
  ["%/6zoo", "hello", true],
  ["%/ulch6p +foo", "hello", false],
  ["harness-hello ^harness-libdep ^glibc", "hello", true],
  ["harness-hello ^harness-libdep %glibc", "hello", true],
  ["harness-hello ^glibc %harness-libdep", "hello", false],
  ["harness-hello %harness-libdep ^glibc", "hello", true],
  ["harness-hello +mpi ^harness-libdep", "hello", false],
  ["harness-hello ^harness-libdep /hkb", "hello", false],
  ["  harness-hello   @ 1.0  ", "hello", true],
  ["^ harness-libdep @ 1.0", "hello", true],
  ["harness-libdep", "libdep", true],
  ["^glibc", "libdep", true],
  ["^harness-hello", "libdep", false],
  ["%libc=glibc", "libdep", true],
  ["harness-libdep@1.0 /6zoo", "libdep", true],
  ["glibc@2.36", "glibc", true],
  ["glibc@2", "glibc", true],
  ["glibc@2.3", "glibc", false],
  ["glibc@2.4:", "glibc", true],
  ["glibc@:2.9", "glibc", false],
  ["glibc@2.36:", "glibc", true],
  ["glibc ^libc", "glibc", false],
  // spec.json v1 (Spack 0.13): hdf5 1.10.5, compiler gcc@9.4.0 on every node, no virtuals.
  ["hdf5", "v1-013", true],
  ["hdf5@1.10", "v1-013", true],
  ["hdf5@1.10.5", "v1-013", true],
  ["hdf5@1.10.6:", "v1-013", false],
  ["hdf5@1.8:1.10", "v1-013", true],
  ["hdf5+mpi", "v1-013", true],
  ["hdf5~mpi", "v1-013", false],
  ["hdf5 -szip", "v1-013", true],
  ["hdf5+mpi~szip+shared", "v1-013", true],
  ["hdf5 %gcc", "v1-013", true],
  ["hdf5 %gcc@9", "v1-013", true],
  ["hdf5 %gcc@9.4.0", "v1-013", true],
  ["hdf5 %gcc@10:", "v1-013", false],
  ["hdf5 %clang", "v1-013", false],
  ["hdf5 ^openmpi@3.1", "v1-013", true],
  ["hdf5 ^openmpi@4:", "v1-013", false],
  ["hdf5 ^openmpi fabrics=none", "v1-013", true],
  ["hdf5 ^openmpi schedulers=none,slurm", "v1-013", false],
  ["hdf5 ^zlib+optimize+pic", "v1-013", true],
  ["hdf5 ^zlib %gcc@9.4", "v1-013", true],
  ["hdf5 ^mpi", "v1-013", false],
  ["hdf5 target=skylake_avx512", "v1-013", true],
  ["hdf5 os=ubuntu20.04", "v1-013", true],
  ["hdf5 arch=linux-ubuntu20.04-skylake_avx512", "v1-013", true],
  ["hdf5 ^libxml2 ^xz@5.2", "v1-013", true],
  ["hdf5 ^perl@5.30 +threads", "v1-013", true],
  ["hdf5 +threads ^perl", "v1-013", false],
  ["hdf5 %openmpi", "v1-013", true],
  ["hdf5 %hwloc", "v1-013", false],
  ["hdf5 ^hwloc", "v1-013", true],
  ["hdf5/vglgw4r", "v1-013", true],
  ["hdf5 ^openmpi/p56cirp", "v1-013", true],
  ["hdf5 ^openmpi/zh3vjn", "v1-013", false],
  // v1 (Spack 0.16): hdf5 1.10.7 on icelake.
  ["hdf5@1.10.7 api=none", "v1-016", true],
  ["hdf5 api=default", "v1-016", false],
  ["hdf5 target=icelake ^openmpi@3.1.6 +static", "v1-016", true],
  ["hdf5 ^ncurses+termlib", "v1-016", true],
  ["hdf5 ^ncurses~symlinks", "v1-016", true],
  // v2 (Spack 0.17): edges by build_hash.
  ["hdf5 build_type=RelWithDebInfo", "v2-017", true],
  ["hdf5 build_type=Release", "v2-017", false],
  ["hdf5 %cmake@3.21", "v2-017", true],
  ["hdf5 ^cmake build_type=Release", "v2-017", true],
  ["hdf5 ^openmpi@4.1.1", "v2-017", true],
  ["hdf5 ^openssl@1.1.1", "v2-017", true],
  ["hdf5 ^openssl@1.1.1k", "v2-017", false],
  ["hdf5 ^openssl@1.1.1a:1.1.1z", "v2-017", true],
  // v3 (Spack 0.19): hdf5 1.12.2.
  ["hdf5@1.12.2 build_system=cmake", "v3-019", true],
  ["hdf5 ^zlib@1.2.13", "v3-019", true],
  ["hdf5 ^zlib@1.2.11", "v3-019", false],
  ["hdf5 ^mpi", "v3-019", false],
  ["hdf5 %gcc@9.4.0 ^openmpi %gcc", "v3-019", true],
  // v4 (Spack 0.20): edges carry virtuals.
  ["hdf5 ^mpi", "v4-020", true],
  ["hdf5 ^mpi=openmpi@4.1", "v4-020", true],
  ["hdf5 %mpi", "v4-020", true],
  ["hdf5 %mpi=openmpi", "v4-020", true],
  ["hdf5 %iconv", "v4-020", false],
  ["hdf5 ^iconv", "v4-020", true],
  ["hdf5 ^pkgconfig=pkgconf@1.8", "v4-020", true],
  ["hdf5 ^hwloc libs=shared,static", "v4-020", true],
  ["hdf5 ^hwloc libs=shared", "v4-020", true],
  ["hdf5 ^hwloc libs:=shared", "v4-020", false],
  ["hdf5 ^hwloc libs:=static,shared", "v4-020", true],
  ["hdf5 ^openssl certs=mozilla ~shared", "v4-020", true],
  ["hdf5 ^ca-certificates-mozilla@2022-10:", "v4-020", true],
  ["hdf5 ^libedit@3.1:", "v4-020", true],
  ["hdf5 ^libedit@=3.1-20210216", "v4-020", true],
  ["hdf5 ^openmpi ++static", "v4-020", true],
  ["hdf5 ^openmpi static==True", "v4-020", true],
  ["hdf5 ^openmpi ~~static", "v4-020", false],
  ["hdf5 ^openmpi --cuda", "v4-020", true],
  ["hdf5 ^zstd compression=none programs=true", "v4-020", true],
  ["hdf5 ^[virtuals=mpi] openmpi", "v4-020", true],
  ["hdf5 ^[virtuals=mpi deptypes=build,link] openmpi@4", "v4-020", true],
  ["hdf5 %[deptypes=run] pkgconf", "v4-020", true],
  ["hdf5 %[deptypes=link] pkgconf", "v4-020", false],
  ["hdf5 ^[deptypes=link] cmake", "v4-020", false],
  // v3 from Spack 0.23's legacy layout: namespace builtin.mock, platform test.
  ["builtin.mock.archive-files@2", "v3-archive", true],
  ["archive-files %gcc@4.5", "v3-archive", true],
  ["archive-files %gcc@4.6:", "v3-archive", false],
  ["archive-files platform=test os=debian6 target=core2", "v3-archive", true],
  ["archive-files platform=linux", "v3-archive", false],
  // v4 from a v2-layout mirror: compiler field; a date version is one number.
  ["libdwarf@20130729 %gcc@10", "v4-libdwarf", true],
  ["libdwarf ^libelf@0.8.13 %gcc@10.2.1", "v4-libdwarf", true],
  ["libdwarf@2013:", "v4-libdwarf", true],
  ["libdwarf@2013", "v4-libdwarf", false],
  // v5 (Spack 1.x): gcc is a build dependency providing c and cxx.
  ["libdwarf %gcc", "v5-libdwarf", true],
  ["libdwarf %gcc@10", "v5-libdwarf", true],
  ["libdwarf %gcc@11:", "v5-libdwarf", false],
  ["libdwarf %c=gcc", "v5-libdwarf", true],
  ["libdwarf %c,cxx=gcc@10.2.1", "v5-libdwarf", true],
  ["libdwarf %fortran=gcc", "v5-libdwarf", false],
  ["libdwarf %gcc languages=c,fortran", "v5-libdwarf", true],
  ["libdwarf %gcc target=aarch64", "v5-libdwarf", true],
  ["libdwarf target=aarch64", "v5-libdwarf", false],
  ["libdwarf ^gcc-runtime@10.2.1", "v5-libdwarf", true],
  ["libdwarf %gcc-runtime", "v5-libdwarf", true],
  ["libdwarf ^libelf %c=gcc", "v5-libdwarf", true],
  ["libdwarf ^compiler-wrapper %gcc", "v5-libdwarf", false],
  ["libdwarf %clang", "v5-libdwarf", false],
  ["zlib-ng@2.2 +compat +opt", "v5-zlibng", true],
  ["zlib-ng ~compat", "v5-zlibng", false],
  ["zlib-ng %gmake@4.4", "v5-zlibng", true],
  ["zlib-ng ^gmake~guile", "v5-zlibng", true],
  ["zlib-ng os=ubuntu24.04 target=x86_64", "v5-zlibng", true],
  ["zlib-ng compat=true", "v5-zlibng", true],
  ["zlib-ng compat=True", "v5-zlibng", true],
  ["zlib-ng compat=false", "v5-zlibng", false],
];

Deno.test(`${ROWS.length} queries against Spack-made specs and spec files v1 to v5`, async () => {
  const specs = await loadSpecs();
  const wrong = ROWS.filter(([query, key, expected]) => {
    const spec = specs[key];
    assert.ok(spec, `no fixture spec ${key}`);
    return matchesQuery(spec, query) !== expected;
  });
  assert.deepEqual(wrong, []);
});

Deno.test("spec files v1 and v2 are linked: every edge reaches a node of the DAG", async () => {
  const specs = await loadSpecs();
  for (const key of ["v1-013", "v1-016", "v2-017"]) {
    const spec = specs[key];
    const dangling = [...spec.nodes.values()].flatMap((n) =>
      (n.dependencies ?? []).filter((e) => !spec.nodes.has(e.hash)).map((e) =>
        `${n.name}->${e.name}`
      )
    );
    assert.deepEqual(dangling, [], key);
  }
  assert.equal(specs["v1-013"].node.hash, "vglgw4reavn65vx5d4dlqn6rjywnq76d");
  assert.equal(specs["v1-013"].nodes.size, 20);
});

/** [query, 1-based column of the error] */
const ERRORS: [string, number][] = [
  ["hdf5 @@1", 7],
  ["", 1],
  ["   ", 4],
  ["hdf5 +", 7],
  ["hdf5 ^", 7],
  ["hdf5 %", 7],
  ["hdf5 $", 6],
  ["hdf5 zlib", 6],
  ['hdf5 cflags="-O2', 13],
  ["hdf5 /", 7],
  ["hdf5@1.4:1.2", 6],
  ["hdf5@1.2@1.3", 9],
  ["hdf5 ^[virtuals=mpi", 20],
  ["hdf5 ^[when=x] y", 8],
  ["hdf5 ^[deptypes=compile] y", 8],
  ["hdf5 target=x86_64:", 13],
  ["hdf5 arch=linux-x86_64", 11],
  ["hdf5 @1.2:1.4:", 14],
  ["hdf5 key=", 10],
  ["^mpi=", 6],
  ["hdf5 %c=", 9],
  ["hdf5 @1.2,", 11],
  ["hdf5 @ =", 9],
  ["hdf5 ^mpi==x", 10],
];

for (const [query, column] of ERRORS) {
  Deno.test(`syntax error in ${JSON.stringify(query)} is at column ${column}`, () => {
    assert.throws(
      () => parseSpecQuery(query),
      (e) => e instanceof SpecSyntaxError && e.column === column && e.text === query,
    );
  });
}

Deno.test("a syntax error shows the query with a caret under the column", () => {
  assert.throws(
    () => parseSpecQuery("hdf5 @@1"),
    (e) =>
      e instanceof SpecSyntaxError && e.code === "SPEC_SYNTAX" &&
      e.message === "expected a version at column 7\n  hdf5 @@1\n        ^",
  );
});

Deno.test("attributes after ^ or % apply to that dependency; % attaches to the last ^ node", () => {
  const q = parseSpecQuery("hdf5 +mpi ^openmpi@4 %gcc@12 +foo %cmake");
  assert.equal(q.root.name, "hdf5");
  assert.deepEqual(q.root.variants.map((v) => v.name), ["mpi"]);
  assert.deepEqual(q.root.direct, []);
  const [openmpi] = q.dependencies;
  assert.equal(openmpi.node.name, "openmpi");
  assert.deepEqual(openmpi.node.direct.map((d) => d.node.name), ["gcc", "cmake"]);
  assert.deepEqual(openmpi.node.direct[0].node.variants.map((v) => v.name), ["foo"]);
});

Deno.test("selectSpecs resolves Spack syntax, and keeps its errors for no match and ambiguity", async () => {
  const listed = await (await openMirror(join(SPACK12, "fs-unsigned"))).listSpecs();
  const [hello, libdep] = selectSpecs(listed, ["harness-hello %harness-libdep", "/6zoo"], "cache");
  assert.equal(hello.node.hash, HARNESS.hello);
  assert.equal(libdep.node.hash, HARNESS.libdep);
  assert.throws(
    () => selectSpecs(listed, ["^glibc@2.36"], "cache"),
    (e) =>
      e instanceof UsageError && e.message.includes("matches 2 specs in cache") &&
      e.message.includes("harness-hello@1.0/hkbptho"),
  );
  assert.throws(
    () => selectSpecs(listed, ["harness-hello@2:"], "cache"),
    (e) => e instanceof NotFoundError && e.message.includes("harness-hello@2: in cache"),
  );
  assert.throws(() => selectSpecs(listed, ["harness-hello @@2"], "cache"), SpecSyntaxError);
});

Deno.test("selectSpecs matches dependencies of holders that wrap their spec (installed specs)", async () => {
  const listed = await (await openMirror(join(SPACK12, "fs-unsigned"))).listSpecs();
  const installed = listed.map((spec) => ({
    node: spec.node,
    spec,
    prefix: `/p/${spec.node.name}`,
  }));
  const [found] = selectSpecs(installed, ["^harness-libdep"], "store");
  assert.equal(found.prefix, "/p/harness-hello");
});

Deno.test("matchesSelector without the DAG knows the root only", async () => {
  const listed = await (await openMirror(join(SPACK12, "fs-unsigned"))).listSpecs();
  const hello = listed.find((s) => s.node.hash === HARNESS.hello)!;
  assert.equal(matchesSelector(hello.node, "harness-hello@1:"), true);
  assert.equal(matchesSelector(hello.node, "harness-hello ^glibc"), false);
  assert.equal(matchesSelector(hello.node, "harness-hello ^glibc", hello.nodes), true);
});

Deno.test("a node whose recorded version does not parse satisfies no version constraint", () => {
  const node = { name: "odd", version: "1.0+local", hash: "oddhashoddhashoddhashoddhashoddh" };
  const spec = { node, nodes: new Map([[node.hash, node]]) };
  assert.equal(matchesQuery(spec, "odd"), true);
  assert.equal(matchesQuery(spec, "odd@1:"), false);
});
