/**
 * Editing a scope file or an environment's spack.yaml as `spack mirror add|set|set-url|remove`:
 * the entries Spack 1.2 writes (reference §5.3), with the rest of the file byte for byte.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  addMirror,
  loadMirrorsConfig,
  MirrorConfigError,
  MirrorError,
  removeMirror,
  setMirror,
} from "../../lib/config/mod.ts";
import { withTempDir } from "../_support/temp.ts";

const COMMENTED = `# Mirrors for this site.
mirrors:   # managed by hand

  # the main cache
  main: https://cache.example.org   # fast
  other:
    url: s3://bucket/x
    # keys live in the CI settings
    access_pair:
      id: me
      secret_variable: S3_SECRET
    binary: false  # only sources

# trailing comment
`;

async function edited(
  original: string,
  edit: (file: string) => Promise<unknown>,
  name = "mirrors.yaml",
): Promise<string> {
  let text = "";
  await withTempDir(async (dir) => {
    const file = join(dir, name);
    if (original) await Deno.writeTextFile(file, original);
    await edit(file);
    text = await Deno.readTextFile(file);
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left, [name], "no temporary file is left behind");
  });
  return text;
}

Deno.test("add NAME URL: `NAME: URL` first, before the comments of the entry it precedes", async () => {
  const text = await edited(COMMENTED, (f) => addMirror(f, "local", "../my cache"));
  assert.equal(
    text,
    COMMENTED.replace("\n  # the main cache", "\n  local: ../my cache\n  # the main cache"),
  );
});

Deno.test("add with flags: a mapping in Spack's key order (reference §5.3 example)", async () => {
  // spack mirror add --unsigned --autopush --type binary s3m s3://bucket/cache
  const text = await edited(
    COMMENTED,
    (f) =>
      addMirror(f, "s3m", "s3://bucket/cache", {
        signed: false,
        autopush: true,
        binary: true,
        source: false,
      }),
  );
  const entry = "  s3m:\n    url: s3://bucket/cache\n    binary: true\n    source: false\n" +
    "    autopush: true\n    signed: false\n";
  assert.equal(text, COMMENTED.replace("  # the main cache", entry + "  # the main cache"));
});

Deno.test("add with every connection setting: url, access_pair … view, in that order", async () => {
  const text = await edited(
    "",
    (f) =>
      addMirror(f, "all", "s3://b/c", {
        view: "v",
        signed: true,
        autopush: true,
        source: true,
        binary: false,
        endpointUrl: "https://s3.example.com",
        profile: "prof",
        accessTokenVariable: "TOKEN",
        accessPair: { id: "yes", secretVariable: "SECRET" },
      }),
  );
  assert.equal(
    text,
    `mirrors:
  all:
    url: s3://b/c
    access_pair:
      id: 'yes'
      secret_variable: SECRET
    access_token_variable: TOKEN
    profile: prof
    endpoint_url: https://s3.example.com
    binary: false
    source: true
    autopush: true
    signed: true
    view: v
`,
  );
});

Deno.test("add creates missing files: a scope file or an environment manifest", async () => {
  assert.equal(await edited("", (f) => addMirror(f, "a", "/x")), "mirrors:\n  a: /x\n");
  assert.equal(
    await edited("", (f) => addMirror(f, "a", "/x"), "spack.yaml"),
    "spack:\n  mirrors:\n    a: /x\n",
  );
  assert.equal(
    await edited("# empty for now", (f) => addMirror(f, "a", "/x")),
    "# empty for now\nmirrors:\n  a: /x\n",
  );
});

Deno.test("add to an environment's spack.yaml keeps the manifest and appends spack: mirrors:", async () => {
  const env = "# my env\nspack:\n  specs:\n  - zlib  # compression\n  view: true\n\n# end\n";
  const reg = {
    accessPair: { idVariable: "REGISTRY_USER", secretVariable: "REGISTRY_TOKEN" },
    signed: false,
  };
  const text = await edited(
    env,
    (f) => addMirror(f, "reg", "oci://ghcr.io/me/cache", reg),
    "spack.yaml",
  );
  assert.equal(
    text,
    env.replace(
      "  view: true\n",
      "  view: true\n  mirrors:\n    reg:\n      url: oci://ghcr.io/me/cache\n      access_pair:\n" +
        "        id_variable: REGISTRY_USER\n        secret_variable: REGISTRY_TOKEN\n" +
        "      signed: false\n",
    ),
  );
  // A second mirror goes first, at the section's indentation.
  const twice = await edited(text, (f) => addMirror(f, "b", "/b"), "spack.yaml");
  assert.equal(twice, text.replace("  mirrors:\n", "  mirrors:\n    b: /b\n"));
});

Deno.test("add into empty and flow-style sections and a 4-space file", async () => {
  assert.equal(
    await edited("mirrors: {}  # none yet\n", (f) => addMirror(f, "a", "/a")),
    "mirrors:  # none yet\n  a: /a\n",
  );
  assert.equal(
    await edited("mirrors: {a: /a}\n", (f) => addMirror(f, "b", "/b")),
    "mirrors: {b: /b, a: /a}\n",
  );
  assert.equal(
    await edited(
      "mirrors:\n    a:\n        url: /a\n",
      (f) => addMirror(f, "b", "/b", { accessPair: { id: "u", secretVariable: "P" } }),
    ),
    "mirrors:\n    b:\n        url: /b\n        access_pair:\n            id: u\n" +
      "            secret_variable: P\n    a:\n        url: /a\n",
  );
});

Deno.test("add refuses an existing name and leaves the file alone", async () => {
  await edited(COMMENTED, async (f) => {
    await assert.rejects(
      addMirror(f, "main", "/elsewhere"),
      (e: unknown) =>
        e instanceof MirrorError && e.code === "MIRROR_EXISTS" &&
        e.message === "Mirror with name main already exists.",
    );
    assert.equal(await Deno.readTextFile(f), COMMENTED);
  });
});

Deno.test("set without direction: a string mirror is promoted to {url: …}; new keys appended", async () => {
  const promoted = await edited(COMMENTED, (f) => setMirror(f, "main", { signed: false }));
  assert.equal(
    promoted,
    COMMENTED.replace(
      "  main: https://cache.example.org   # fast\n",
      "  main:   # fast\n    url: https://cache.example.org\n    signed: false\n",
    ),
  );
  // set --type binary --autopush on a mapping: binary changes in place, the rest is appended.
  const typed = await edited(
    COMMENTED,
    (f) => setMirror(f, "other", { binary: true, source: false, autopush: true }),
  );
  assert.equal(
    typed,
    COMMENTED.replace(
      "    binary: false  # only sources\n",
      "    binary: true  # only sources\n    source: false\n    autopush: true\n",
    ),
  );
});

Deno.test("set-url: only the URL of a string mirror changes, its comment stays", async () => {
  const text = await edited(COMMENTED, (f) => setMirror(f, "main", { url: "/srv/new" }));
  assert.equal(text, COMMENTED.replace("main: https://cache.example.org", "main: /srv/new"));
});

Deno.test("set --push: a plain push URL, promoted to a connection when more is set", async () => {
  const pushUrl = await edited(
    COMMENTED,
    (f) => setMirror(f, "other", { url: "s3://bucket/push" }, "push"),
  );
  assert.equal(
    pushUrl,
    COMMENTED.replace(
      "    binary: false  # only sources\n",
      "    binary: false  # only sources\n    push: s3://bucket/push\n",
    ),
  );
  const promoted = await edited(
    pushUrl,
    (f) => setMirror(f, "other", { profile: "writer", endpointUrl: "https://s3.example" }, "push"),
  );
  assert.equal(
    promoted,
    pushUrl.replace(
      "    push: s3://bucket/push\n",
      "    push:\n      url: s3://bucket/push\n      profile: writer\n" +
        "      endpoint_url: https://s3.example\n",
    ),
  );
  // On a string mirror, set --push URL keeps the top-level URL and adds a push string.
  const onString = await edited(
    COMMENTED,
    (f) => setMirror(f, "main", { url: "s3://w/x" }, "push"),
  );
  assert.equal(
    onString,
    COMMENTED.replace(
      "  main: https://cache.example.org   # fast\n",
      "  main:   # fast\n    url: https://cache.example.org\n    push: s3://w/x\n",
    ),
  );
});

Deno.test("set replaces an access_pair whole, as Spack does", async () => {
  const text = await edited(
    COMMENTED,
    (f) =>
      setMirror(f, "other", { accessPair: { idVariable: "AWS_ID", secretVariable: "AWS_KEY" } }),
  );
  assert.equal(
    text,
    COMMENTED.replace(
      "      id: me\n      secret_variable: S3_SECRET\n",
      "      id_variable: AWS_ID\n      secret_variable: AWS_KEY\n",
    ),
  );
  await withTempDir(async (dir) => {
    const file = join(dir, "mirrors.yaml");
    await Deno.writeTextFile(file, text);
    const config = await loadMirrorsConfig({ files: [file], userDir: false, env: {} });
    assert.deepEqual(config.mirrors[1].fetch.accessPair, {
      idVariable: "AWS_ID",
      secretVariable: "AWS_KEY",
    });
  });
});

Deno.test("set with nothing to change, or only top-level flags with a direction, writes nothing", async () => {
  await edited(COMMENTED, async (f) => {
    const before = await Deno.stat(f);
    assert.equal(await setMirror(f, "other", { binary: false }), false);
    assert.equal(await setMirror(f, "other", { binary: true, signed: false }, "push"), false);
    assert.equal(await setMirror(f, "main", { url: "https://cache.example.org" }), false);
    assert.equal(await setMirror(f, "main", {}), false);
    assert.equal(await Deno.readTextFile(f), COMMENTED);
    assert.equal((await Deno.stat(f)).ino, before.ino, "the file was not rewritten");
    await assert.rejects(
      setMirror(f, "nope", { url: "/x" }),
      (e: unknown) =>
        e instanceof MirrorError && e.code === "MIRROR_NOT_FOUND" &&
        e.message === "No mirror found with name nope.",
    );
  });
});

Deno.test("remove: the entry's lines go; the last one leaves `mirrors: {}`", async () => {
  const withoutOther = await edited(COMMENTED, (f) => removeMirror(f, "other"));
  assert.equal(
    withoutOther,
    COMMENTED.replace(
      "  other:\n    url: s3://bucket/x\n    # keys live in the CI settings\n    access_pair:\n" +
        "      id: me\n      secret_variable: S3_SECRET\n    binary: false  # only sources\n",
      "",
    ),
  );
  const empty = await edited(withoutOther, (f) => removeMirror(f, "main"));
  assert.equal(
    empty,
    "# Mirrors for this site.\nmirrors: {}   # managed by hand\n\n# trailing comment\n",
  );
  assert.equal(await edited(empty, (f) => removeMirror(f, "main")), empty);
  assert.equal(
    await edited("mirrors: {a: /a, b: /b}\n", (f) => removeMirror(f, "a")),
    "mirrors: {b: /b}\n",
  );
});

Deno.test("edits keep the file's permissions and refuse files Spack 1.2 would reject", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "mirrors.yaml");
    await Deno.writeTextFile(file, COMMENTED);
    await Deno.chmod(file, 0o600);
    await addMirror(file, "x", "/x");
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);

    const invalid = "mirrors:\n  old:\n    url: s3://b\n    access_pair: [AKID, SECRET]\n";
    await Deno.writeTextFile(file, invalid);
    await assert.rejects(addMirror(file, "x", "/x"), MirrorConfigError);
    await assert.rejects(removeMirror(file, "old"), MirrorConfigError);
    assert.equal(await Deno.readTextFile(file), invalid);
  });
});
