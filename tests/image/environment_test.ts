/**
 * Images that behave like an installed environment: the Spack-made fixture packages composed
 * onto a minimal base with a view, unpacked with umoci and run chrooted. The view is on PATH, the
 * long-shebang script runs through the sbang layer, and the run environment names only
 * directories the image holds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../lib/errors.ts";
import { composeImage } from "../../lib/image/mod.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { UnsafeMemberError } from "../../lib/tar/member_policy.ts";
import {
  BASE_PATH,
  baseConfig,
  buildShellLayer,
  packLayer,
  writeImage,
} from "../_support/base_image.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { expectedHelloOutput, harnessPrefixes } from "../_support/harness.ts";
import { withTempDir } from "../_support/temp.ts";
import { layoutTags } from "../oci/_skopeo.ts";
import { envOf, layoutBlob, readLayoutImage } from "./_layout.ts";
import { runChrooted, unpackImage } from "./_sample.ts";

// The fixture's build-time store: padded root, and the unpadded one sbang lives under.
const UNPADDED = "/opt/spack-build/make/store";
const ROOT = `${UNPADDED}/${
  Array(4).fill("__spack_path_placeholder__").join("/").slice(0, 128 - UNPADDED.length - 1)
}`;
const { H, D } = harnessPrefixes(ROOT);
const SBANG = `${UNPADDED}/bin/sbang`;
const VIEW = "/opt/view";
const SEARCH_VARIABLES = [
  "PATH",
  "MANPATH",
  "ACLOCAL_PATH",
  "PKG_CONFIG_PATH",
  "CMAKE_PREFIX_PATH",
];

/** The minimal base plus `/bin/cat` (the long-shebang script runs it), as layout `dir:base`. */
async function baseWithCat(dir: string, work: string) {
  const shell = await buildShellLayer(work);
  const root = join(work, "cat-rootfs");
  await Deno.mkdir(join(root, "bin"), { recursive: true });
  await Deno.copyFile(await Deno.realPath("/bin/cat"), join(root, "bin", "cat"));
  const cat = await packLayer(root, join(work, "cat-layer.tar.gz"));
  const history = ["sh", "cat"].map((what) => ({ created_by: what }));
  return await writeImage(dir, "base", [shell, cat], baseConfig({ history }));
}

/** The image's Env as a record. */
function envRecord(env: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

Deno.test("an image with a view runs like an installed environment", async () => {
  await withTempDir(async (work) => {
    assert.equal(ROOT.length, 128);
    const baseDir = join(work, "base");
    await baseWithCat(baseDir, work);
    const mirror = await openMirror(join(SPACK12, "fs-unsigned"));
    const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    const out = join(work, "images");
    const compose = (tag: string, view?: string) =>
      composeImage({
        base: `oci-layout:${baseDir}:base`,
        mirror,
        specs: [hello],
        target: `oci-layout:${out}:${tag}`,
        view,
      });
    const result = await compose("env", VIEW);
    // Base (2), libdep, hello, sbang, view.
    assert.equal(result.layers, 6);
    const image = readLayoutImage(out, "env");
    const env = envRecord(image.config.config.Env);

    // The run environment points at the view, only where the view has the directory.
    assert.equal(env.PATH, `${VIEW}/bin:${BASE_PATH}`);
    assert.equal(env.PKG_CONFIG_PATH, `${VIEW}/lib/pkgconfig`);
    assert.equal(env.CMAKE_PREFIX_PATH, VIEW);
    assert.equal(env.MANPATH, undefined);
    assert.equal(env.ACLOCAL_PATH, undefined);
    assert.equal(env.BASE_IMAGE, "minimal");

    const rootfs = await unpackImage(out, "env", join(work, "bundle"));
    // No directory the image lacks (the base's own PATH entries aside).
    for (const variable of SEARCH_VARIABLES) {
      for (const dir of (env[variable] ?? "").split(":").filter((d) => d !== "")) {
        if (variable === "PATH" && BASE_PATH.split(":").includes(dir)) continue;
        const info = await Deno.lstat(join(rootfs, dir));
        assert.ok(info.isDirectory, `${variable}: ${dir} is not a directory in the image`);
      }
    }
    // The view is symlinks into the prefixes.
    assert.equal(await Deno.readLink(join(rootfs, VIEW, "bin", "hello")), `${H}/bin/hello`);
    assert.equal(
      await Deno.readLink(join(rootfs, VIEW, "lib", "pkgconfig", "harness-libdep.pc")),
      `${D}/lib/pkgconfig/harness-libdep.pc`,
    );
    const sbang = await Deno.lstat(join(rootfs, SBANG));
    assert.equal(sbang.mode! & 0o7777, 0o755);

    const { PATH: path, ...rest } = env;
    const run = (argv: string[]) => runChrooted(rootfs, argv, path, rest);
    // `hello` through the view on PATH, at its prefix.
    const ran = await run(["hello"]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, expectedHelloOutput(H, D));
    // The long-shebang script through sbang.
    const long = await run(["hello-long-shebang"]);
    assert.equal(long.code, 0, long.stderr);
    assert.ok(long.stdout.startsWith(`long-shebang script in ${H}\n`), long.stdout);
    assert.match(long.stdout, /harness-libdep 1\.0 data file/);
    // The run environment reaches the program.
    const pkg = await run(["/bin/sh", "-c", 'printf %s "$PKG_CONFIG_PATH"']);
    assert.equal(pkg.stdout, `${VIEW}/lib/pkgconfig`);

    // Deterministic: the same inputs give the same digest.
    assert.equal((await compose("again", VIEW)).digest, result.digest);
    // Without a view: every prefix, dependencies after their dependents; the same sbang layer.
    await compose("prefixes");
    const plain = readLayoutImage(out, "prefixes");
    const plainEnv = envRecord(plain.config.config.Env);
    assert.equal(plainEnv.PATH, `${H}/bin:${D}/bin:${BASE_PATH}`);
    assert.equal(plainEnv.PKG_CONFIG_PATH, `${D}/lib/pkgconfig`);
    assert.equal(plainEnv.CMAKE_PREFIX_PATH, `${H}:${D}`);
    assert.deepEqual(plain.manifest.layers.at(-1), image.manifest.layers.at(-2));
    const sbangLayer = plain.manifest.layers.at(-1)!;
    assert.equal(layoutBlob(out, sbangLayer.digest).length, sbangLayer.size);
    assert.equal(envOf(plain.config.config.Env, "BASE_IMAGE"), "minimal");
  });
});

Deno.test("a view that is not an absolute path, or overlaps a prefix or sbang, is refused", async () => {
  await withTempDir(async (work) => {
    const mirror = await openMirror(join(SPACK12, "fs-unsigned"));
    const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    const out = join(work, "images");
    const compose = (view: string) =>
      composeImage({ mirror, specs: [hello], target: `oci-layout:${out}:env`, view });
    await assert.rejects(compose("opt/view"), UsageError);
    await assert.rejects(compose("/opt/../view"), UsageError);
    for (const view of [`${H}/view`, UNPADDED, `${UNPADDED}/bin/sbang`]) {
      await assert.rejects(compose(view), (e) => {
        assert.ok(e instanceof UnsafeMemberError, String(e));
        assert.match(e.message, /overlaps/);
        return true;
      });
    }
    assert.deepEqual(await layoutTags(out).catch(() => []), []);
  });
});
