// Authentication against a real registry: htpasswd Basic, Bearer tokens from our token server,
// and credentials from Docker config files and credential helpers.
import assert from "node:assert/strict";
import { join } from "node:path";
import { FormatError } from "../../lib/errors.ts";
import {
  type CredentialProvider,
  dockerConfigCredentials,
  OCI_MANIFEST,
  RegistryAuthError,
  RegistryClient,
  type RegistryClientOptions,
} from "../../lib/registry/mod.ts";
import { readAll, startRegistry, testBlob } from "../_support/registry.ts";

const ALICE = { username: "alice", password: "pa55-w0rd:with-colon" };

function client(host: string, options: RegistryClientOptions): RegistryClient {
  return new RegistryClient(host, { plainHttp: true, retryBaseDelayMs: 1, ...options });
}

/** Pushes a blob, a manifest and reads both back: every request kind needs auth. */
async function roundTrip(c: RegistryClient, repo: string): Promise<void> {
  const blob = testBlob(1000);
  assert.equal(await c.pushBlob(repo, blob.digest, blob.size, blob.body), "uploaded");
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: blob.digest,
      size: blob.size,
    },
    layers: [],
  }));
  const digest = await c.putManifest(repo, "t", manifest, OCI_MANIFEST);
  assert.equal((await c.getManifest(repo, "t")).digest, digest);
  assert.deepEqual(await readAll(await c.getBlob(repo, blob.digest)), blob.bytes);
  assert.deepEqual(await c.listTags(repo), ["t"]);
}

/** Asserts that `err` is a RegistryAuthError whose message leaks no secret. */
function authErrorWithoutSecrets(...secrets: string[]): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof RegistryAuthError, String(err));
    for (const s of secrets) {
      assert.ok(!err.message.includes(s), `message leaks a secret: ${err.message}`);
    }
    return true;
  };
}

const basicSecrets = (u: string, p: string) => [p, btoa(`${u}:${p}`)];

Deno.test("Basic auth (htpasswd): success, wrong password, no credentials", async () => {
  const registry = await startRegistry({ auth: "htpasswd", users: [ALICE] });
  try {
    await roundTrip(client(registry.host, { credentials: ALICE }), "basic/ok");

    const wrong = { username: "alice", password: "not-the-password" };
    await assert.rejects(
      () => client(registry.host, { credentials: wrong }).headBlob("basic/ok", testBlob(1).digest),
      authErrorWithoutSecrets(...basicSecrets(wrong.username, wrong.password)),
    );
    await assert.rejects(
      () =>
        client(registry.host, { credentials: () => Promise.resolve(undefined) }).listTags(
          "basic/ok",
        ),
      (err: unknown) => err instanceof RegistryAuthError && /no credentials/.test(err.message),
    );
  } finally {
    await registry.stop();
  }
});

Deno.test("Bearer auth: one token per scope set, renewed when refused, failures", async () => {
  const registry = await startRegistry({ auth: "token", users: [ALICE] });
  try {
    const c = client(registry.host, { credentials: ALICE });
    await roundTrip(c, "bearer/a");
    // Everything above (HEAD, POST, PUT, manifest PUT/GET, blob GET, tags) used one token.
    assert.deepEqual(registry.tokenRequests, [
      { method: "GET", scopes: ["repository:bearer/a:pull,push"], user: "alice", status: 200 },
    ]);

    // Another repository needs another token; a mount also asks for pull on the source.
    const blob = testBlob(500);
    await c.pushBlob("bearer/a", blob.digest, blob.size, blob.body);
    assert.equal(
      await c.pushBlob("bearer/b", blob.digest, blob.size, blob.body, { mountFrom: "bearer/a" }),
      "mounted",
    );
    assert.deepEqual(registry.tokenRequests.slice(1).map((r) => r.scopes), [
      ["repository:bearer/b:pull,push", "repository:bearer/a:pull"],
    ]);

    // A token that the registry refuses (here: granted without push) is dropped and renewed.
    registry.tokenPolicy.withholdPushTimes = 1;
    const fresh = client(registry.host, { credentials: ALICE });
    const other = testBlob(700);
    assert.equal(
      await fresh.pushBlob("bearer/c", other.digest, other.size, other.body),
      "uploaded",
    );
    assert.equal(registry.tokenRequests.length, 4);

    const wrong = { username: "alice", password: "wrong-secret" };
    await assert.rejects(
      () => client(registry.host, { credentials: wrong }).headBlob("bearer/a", blob.digest),
      authErrorWithoutSecrets(...basicSecrets(wrong.username, wrong.password)),
    );
    assert.equal(registry.tokenRequests.at(-1)?.status, 401);

    // Anonymous tokens grant nothing here: the registry keeps refusing.
    await assert.rejects(
      () =>
        client(registry.host, { credentials: () => Promise.resolve(undefined) }).listTags(
          "bearer/a",
        ),
      (err: unknown) => err instanceof RegistryAuthError && /still unauthorized/.test(err.message),
    );
  } finally {
    await registry.stop();
  }
});

Deno.test("Bearer auth with an identity token (OAuth2 refresh token from Docker config)", async () => {
  const registry = await startRegistry({ auth: "token", identityTokens: ["refresh-123"] });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "config.json"),
      JSON.stringify({ auths: { [registry.host]: { identitytoken: "refresh-123" } } }),
    );
    const credentials = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    await roundTrip(client(registry.host, { credentials }), "identity/a");
    assert.deepEqual(registry.tokenRequests.map((r) => [r.method, r.status]), [["POST", 200]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await registry.stop();
  }
});

Deno.test("Docker config credentials: auths, REGISTRY_AUTH_FILE, credHelpers and credsStore", async () => {
  const registry = await startRegistry({ auth: "htpasswd", users: [ALICE] });
  const dir = await Deno.makeTempDir();
  try {
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    // A credential helper speaking the docker-credential-helpers protocol; it records its input.
    const helper = join(bin, "docker-credential-test");
    await Deno.writeTextFile(
      helper,
      `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
printf '%s' "$server" > "${join(dir, "helper-input")}"
if [ "$server" = "${registry.host}" ]; then
  printf '{"ServerURL":"%s","Username":"${ALICE.username}","Secret":"${ALICE.password}"}' "$server"
else
  echo "credentials not found in native keychain"
  exit 1
fi
`,
    );
    await Deno.chmod(helper, 0o755);
    const env = (extra: Record<string, string>) => ({
      PATH: `${bin}:${Deno.env.get("PATH")}`,
      ...extra,
    });
    const write = async (name: string, config: unknown) => {
      await Deno.mkdir(join(dir, name), { recursive: true });
      await Deno.writeTextFile(join(dir, name, "config.json"), JSON.stringify(config));
      return join(dir, name);
    };
    const use = async (credentials: CredentialProvider, repo: string) => {
      await roundTrip(client(registry.host, { credentials }), repo);
    };

    const auth = btoa(`${ALICE.username}:${ALICE.password}`);
    await use(
      dockerConfigCredentials({
        env: {
          DOCKER_CONFIG: await write("auths", { auths: { [`http://${registry.host}`]: { auth } } }),
        },
      }),
      "cfg/auths",
    );
    await use(
      dockerConfigCredentials({
        env: {
          HOME: await write("home/.docker", { auths: { [registry.host]: { auth } } }).then(() =>
            join(dir, "home")
          ),
        },
      }),
      "cfg/home",
    );
    const authFile = join(dir, "auth.json");
    await Deno.writeTextFile(authFile, JSON.stringify({ auths: { [registry.host]: ALICE } }));
    await use(
      dockerConfigCredentials({ env: { REGISTRY_AUTH_FILE: authFile, HOME: "/nonexistent" } }),
      "cfg/authfile",
    );

    const helpers = await write("helpers", { credHelpers: { [registry.host]: "test" } });
    await use(dockerConfigCredentials({ env: env({ DOCKER_CONFIG: helpers }) }), "cfg/helper");
    assert.equal(await Deno.readTextFile(join(dir, "helper-input")), registry.host);

    const store = await write("store", { credsStore: "test" });
    await use(dockerConfigCredentials({ env: env({ DOCKER_CONFIG: store }) }), "cfg/store");
    // Docker Hub is looked up under its legacy key; the helper has nothing for it.
    assert.equal(
      await dockerConfigCredentials({ env: env({ DOCKER_CONFIG: store }) })("index.docker.io"),
      undefined,
    );
    assert.equal(await Deno.readTextFile(join(dir, "helper-input")), "https://index.docker.io/v1/");

    const hub = await write("hub", {
      auths: { "https://index.docker.io/v1/": { auth: btoa("bob:hunter2") } },
    });
    assert.deepEqual(await dockerConfigCredentials({ env: { DOCKER_CONFIG: hub } })("docker.io"), {
      username: "bob",
      password: "hunter2",
    });
    assert.equal(
      await dockerConfigCredentials({ env: { DOCKER_CONFIG: hub } })("ghcr.io"),
      undefined,
    );

    // A missing helper and an unreadable config are clear errors that quote no secret.
    const missing = await write("missing", { credHelpers: { [registry.host]: "absent" } });
    await assert.rejects(
      () => dockerConfigCredentials({ env: env({ DOCKER_CONFIG: missing }) })(registry.host),
      (err: unknown) =>
        err instanceof RegistryAuthError &&
        /docker-credential-absent is not on PATH/.test(err.message),
    );
    await Deno.mkdir(join(dir, "broken"));
    await Deno.writeTextFile(
      join(dir, "broken", "config.json"),
      '{"auths": {"x": {"auth": "c2VjcmV0"}}',
    );
    await assert.rejects(
      () => dockerConfigCredentials({ env: { DOCKER_CONFIG: join(dir, "broken") } })(registry.host),
      (err: unknown) => err instanceof FormatError && !err.message.includes("c2VjcmV0"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await registry.stop();
  }
});
