/** spack.yaml settings as openEnvironment reads them, and activation code for every shell. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  activationScript,
  deactivationScript,
  EnvironmentManifestError,
  isSystemPath,
  openEnvironment,
  PREFIX_INSPECTIONS,
} from "../../lib/env/mod.ts";
import { MirrorConfigError } from "../../mod.ts";
import { SPACK12 } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";

async function envWith(dir: string, yaml: string): Promise<string> {
  await Deno.writeTextFile(join(dir, "spack.yaml"), yaml);
  return dir;
}

Deno.test("the fixture manifest: default view, the env's own mirror, no install tree settings", async () => {
  await withTempDir(async (dir) => {
    await Deno.copyFile(join(SPACK12, "env/spack.yaml"), join(dir, "spack.yaml"));
    const env = await openEnvironment(dir);
    assert.equal(env.dir, dir);
    assert.deepEqual(env.views, [{ name: "default", root: join(dir, ".spack-env/view") }]);
    assert.deepEqual(env.installTree, {});
    assert.deepEqual(env.mirrors.mirrors.map((m) => [m.name, m.fetch.url, m.signed]), [
      ["fix", `file://${join(dir, "../fs-unsigned")}`, false],
    ]);
    assert.equal(env.lockfile, undefined, "no spack.lock: not concretized");
    assert.deepEqual(env.roots, []);
  });
});

Deno.test("view: false, a path, and named views with every setting", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(
      (await openEnvironment(await envWith(dir, "spack:\n  view: false\n"))).views,
      [],
    );
    const byPath = await openEnvironment(await envWith(dir, "spack:\n  view: ./v\n"));
    assert.deepEqual(byPath.defaultView, { name: "default", root: join(dir, "v") });
    const named = await openEnvironment(
      await envWith(
        dir,
        `spack:
  specs: [zlib, {matrix: [[a]]}]
  view:
    mine:
      root: $env/views/mine
      select: ['%gcc']
      exclude: [cmake]
      projections: {all: '{name}/{version}', zlib: '{name}'}
      link: run
      link_type: hard
    default:
      root: /opt/views/default
  config:
    install_tree:
      root: ./store
      padded_length: 128
  include_concrete: [../other]
`,
      ),
    );
    assert.deepEqual(named.userSpecs, ["zlib"]);
    assert.deepEqual(named.views, [
      {
        name: "mine",
        root: join(dir, "views/mine"),
        link: "run",
        linkType: "hardlink",
        select: ["%gcc"],
        exclude: ["cmake"],
        projections: { all: "{name}/{version}", zlib: "{name}" },
      },
      { name: "default", root: "/opt/views/default" },
    ]);
    assert.equal(named.defaultView?.root, "/opt/views/default");
    assert.deepEqual(named.installTree, { root: join(dir, "store"), paddedLength: 128 });
    assert.deepEqual(named.includeConcrete, [join(dir, "../other")]);
  });
});

Deno.test("manifest errors name the file and the key", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "spack.yaml");
    const cases: [string, RegExp][] = [
      ["spack: [\n", /invalid YAML/],
      ["packages: {}\n", /: spack: expected a mapping/],
      ["spack:\n  view: 3\n", /: spack\.view: expected true, false, a path or a mapping/],
      ["spack:\n  view: {v: {root: /x, link: some}}\n", /: spack\.view\.v\.link: expected one of/],
      ["spack:\n  view: {v: {link: all}}\n", /: spack\.view\.v\.root: expected a path/],
      ["spack:\n  view: {v: {root: /x, colour: red}}\n", /: spack\.view\.v\.colour: unknown/],
      [
        "spack:\n  config: {install_tree: {padded_length: -1}}\n",
        /: spack\.config\.install_tree\.padded_length: /,
      ],
      ["spack:\n  include_concrete: env\n", /: spack\.include_concrete: expected a list/],
    ];
    for (const [yaml, pattern] of cases) {
      await Deno.writeTextFile(file, yaml);
      await assert.rejects(openEnvironment(dir), (e) => {
        assert.ok(e instanceof EnvironmentManifestError, `${yaml}: ${e}`);
        assert.ok(e.message.startsWith(file), e.message);
        assert.match(e.message, pattern);
        return true;
      });
    }
    await Deno.writeTextFile(file, "spack:\n  mirrors:\n    m: {url: /x, colour: red}\n");
    await assert.rejects(openEnvironment(dir), MirrorConfigError);
  });
});

Deno.test("activation for csh and fish, and deactivation that keeps the user's own entries", async () => {
  await withTempDir(async (dir) => {
    const view = { root: join(dir, "view") };
    const env = { PATH: "/usr/bin:/bin", MANPATH: "/usr/man" };
    const csh = await activationScript({ envDir: dir, view, shell: "csh", env });
    assert.ok(csh.startsWith(`setenv SPACK_ENV ${dir};\nsetenv SPACK_ENV_VIEW default;\n`));
    assert.match(csh, /^alias despacktivate 'eval `spackle env deactivate --csh`';$/m);
    assert.match(csh, new RegExp(`^setenv PATH ${view.root}/bin:/usr/bin:/bin;$`, "m"));
    assert.match(
      csh,
      new RegExp(`^setenv MANPATH ${view.root}/share/man:${view.root}/man:/usr/man:;$`, "m"),
    );
    const fish = await activationScript({ envDir: dir, view, shell: "fish", env, command: "sk" });
    assert.match(fish, /^function despacktivate;\n {3}sk env deactivate --fish \| source;\nend;$/m);
    assert.match(fish, new RegExp(`^set -gx CMAKE_PREFIX_PATH ${view.root};$`, "m"));

    // After activation, deactivation takes the view's entries out again.
    const active = {
      PATH: `${view.root}/bin:/usr/bin:/bin`,
      MANPATH: `${view.root}/share/man:${view.root}/man:/usr/man:`,
      CMAKE_PREFIX_PATH: view.root,
    };
    const sh = await deactivationScript({ envDir: dir, view, shell: "sh", env: active });
    assert.match(sh, /^unset SPACK_ENV;$/m);
    assert.match(sh, /^export PATH=\/usr\/bin:\/bin;$/m);
    assert.match(sh, /^export MANPATH=\/usr\/man:;$/m);
    assert.match(sh, /^unset CMAKE_PREFIX_PATH;$/m);
    // Paths with spaces are quoted as Python's shlex.quote does.
    const odd = await activationScript({ envDir: `${dir}/my env`, shell: "sh", env: {} });
    assert.ok(odd.startsWith(`export SPACK_ENV='${dir}/my env';\nalias despacktivate=`), odd);
    await assert.rejects(
      activationScript({ envDir: dir, shell: "zsh" as "sh", env: {} }),
      /unknown shell/,
    );
  });
});

Deno.test("the prefix inspection table and Spack's system paths", () => {
  assert.deepEqual(
    PREFIX_INSPECTIONS.map((i) => `${i.path || "."}=${i.variables.join(",")}`),
    [
      "bin=PATH",
      "man=MANPATH",
      "share/man=MANPATH",
      "share/aclocal=ACLOCAL_PATH",
      "lib/pkgconfig=PKG_CONFIG_PATH",
      "lib64/pkgconfig=PKG_CONFIG_PATH",
      "share/pkgconfig=PKG_CONFIG_PATH",
      ".=CMAKE_PREFIX_PATH",
    ],
  );
  for (const p of ["/usr", "/usr/bin", "/bin", "/usr/local/lib64", "/", "/usr/lib/"]) {
    assert.ok(isSystemPath(p), p);
  }
  for (const p of ["/usr/share/man", "/usr/lib/pkgconfig", "/opt/bin", "/usr/local/share"]) {
    assert.ok(!isSystemPath(p), p);
  }
});
