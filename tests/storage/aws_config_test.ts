import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../lib/errors.ts";
import { bucketUrls, parseIni, resolveAwsSettings } from "../../lib/storage/_aws_config.ts";
import { withTempDir } from "../_support/temp.ts";

const CREDENTIALS = `# shared credentials
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[ci]
aws_access_key_id=AKIACI
aws_secret_access_key=ci-secret
aws_session_token = ci-token
`;

const CONFIG = `[default]
region = eu-west-1
s3 =
  addressing_style = path
  region = nested-must-not-leak

; a profile that only exists here, with its keys in the config file
[profile cfgonly]
region = ap-south-1
aws_access_key_id = AKIACFG
aws_secret_access_key = cfg-secret

[profile ci]
region = us-west-2

[profile roleonly]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = default
`;

/** Writes the two files to `dir`; the returned environment points at them (and nothing else). */
async function files(dir: string): Promise<Record<string, string>> {
  await Deno.writeTextFile(join(dir, "credentials"), CREDENTIALS);
  await Deno.writeTextFile(join(dir, "config"), CONFIG);
  return {
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "credentials"),
    AWS_CONFIG_FILE: join(dir, "config"),
  };
}

Deno.test("credentials: options, then the environment, then the default profile; region to match", async () => {
  await withTempDir(async (dir) => {
    const env = await files(dir);
    const fromOptions = await resolveAwsSettings({
      env: { ...env, AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: "env-secret" },
      accessKeyId: "AKIAOPT",
      secretAccessKey: "opt-secret",
      sessionToken: "opt-token",
    });
    assert.deepEqual(fromOptions.credentials, {
      accessKeyId: "AKIAOPT",
      secretAccessKey: "opt-secret",
      sessionToken: "opt-token",
      source: "options",
    });
    assert.equal(fromOptions.region, "eu-west-1");

    const fromEnv = await resolveAwsSettings({
      env: {
        ...env,
        AWS_ACCESS_KEY_ID: "AKIAENV",
        AWS_SECRET_ACCESS_KEY: "env-secret",
        AWS_SESSION_TOKEN: "env-token",
        AWS_DEFAULT_REGION: "ca-central-1",
      },
    });
    assert.deepEqual(fromEnv.credentials, {
      accessKeyId: "AKIAENV",
      secretAccessKey: "env-secret",
      sessionToken: "env-token",
      source: "environment",
    });
    assert.equal(fromEnv.region, "ca-central-1");

    const fromDefault = await resolveAwsSettings({ env: { ...env, AWS_REGION: "sa-east-1" } });
    assert.deepEqual(fromDefault.credentials, {
      accessKeyId: "AKIADEFAULT",
      secretAccessKey: "default-secret",
      source: "profile default",
    });
    assert.equal(fromDefault.region, "sa-east-1", "AWS_REGION wins over the config file");
  });
});

Deno.test("credentials: an explicit profile ignores the environment; AWS_PROFILE and config-only profiles", async () => {
  await withTempDir(async (dir) => {
    const env = await files(dir);
    const ci = await resolveAwsSettings({
      env: { ...env, AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: "env-secret" },
      profile: "ci",
    });
    assert.deepEqual(ci.credentials, {
      accessKeyId: "AKIACI",
      secretAccessKey: "ci-secret",
      sessionToken: "ci-token",
      source: "profile ci",
    });
    assert.equal(ci.region, "us-west-2");

    const viaEnv = await resolveAwsSettings({ env: { ...env, AWS_PROFILE: "cfgonly" } });
    assert.equal(viaEnv.credentials?.accessKeyId, "AKIACFG");
    assert.equal(viaEnv.region, "ap-south-1");

    await assert.rejects(resolveAwsSettings({ env, profile: "absent" }), UsageError);
    await assert.rejects(
      resolveAwsSettings({ env: { ...env, AWS_PROFILE: "absent" } }),
      UsageError,
    );
    await assert.rejects(
      resolveAwsSettings({ env, profile: "roleonly" }),
      (e) => e instanceof UsageError && /not supported/.test(e.message),
    );
  });
});

Deno.test("credentials: none anywhere is anonymous; half a key pair is an error naming no secret", async () => {
  await withTempDir(async (dir) => {
    const anonymous = await resolveAwsSettings({ env: { HOME: dir } });
    assert.deepEqual(anonymous, {
      region: "us-east-1",
      endpoint: undefined,
      credentials: undefined,
    });
    await assert.rejects(
      resolveAwsSettings({ env: {}, accessKeyId: "AKIAONLY" }),
      (e) => e instanceof UsageError && !e.message.includes("AKIAONLY"),
    );
    await assert.rejects(
      resolveAwsSettings({ env: { AWS_ACCESS_KEY_ID: "AKIAONLY", HOME: dir } }),
      UsageError,
    );
    // Empty variables count as unset.
    const empty = await resolveAwsSettings({ env: { AWS_ACCESS_KEY_ID: "", HOME: dir } });
    assert.equal(empty.credentials, undefined);
    // ~/.aws under HOME is the default place.
    await Deno.mkdir(join(dir, ".aws"));
    await Deno.writeTextFile(join(dir, ".aws", "credentials"), CREDENTIALS);
    const home = await resolveAwsSettings({ env: { HOME: dir } });
    assert.equal(home.credentials?.accessKeyId, "AKIADEFAULT");
  });
});

Deno.test("endpoint: option, then S3_ENDPOINT_URL; a bare host means https", async () => {
  const fromEnv = await resolveAwsSettings({ env: { S3_ENDPOINT_URL: "minio.example:9000" } });
  assert.equal(fromEnv.endpoint?.href, "https://minio.example:9000/");
  const fromOption = await resolveAwsSettings({
    env: { S3_ENDPOINT_URL: "ignored.example" },
    endpointUrl: "http://127.0.0.1:9000/",
  });
  assert.equal(fromOption.endpoint?.href, "http://127.0.0.1:9000/");
  await assert.rejects(resolveAwsSettings({ env: {}, endpointUrl: "ftp://x" }), UsageError);
  await assert.rejects(
    resolveAwsSettings({ env: {}, endpointUrl: "https://id:secret@x" }),
    (e) => e instanceof UsageError && !e.message.includes("secret"),
  );
});

Deno.test("bucket URLs: path style under an endpoint, virtual-host style on AWS, path style for dotted names", () => {
  const endpoint = new URL("http://127.0.0.1:9000/");
  assert.deepEqual(bucketUrls("cache", { region: "us-east-1", endpoint }), {
    bucketUrl: "http://127.0.0.1:9000/cache/",
    listUrl: "http://127.0.0.1:9000/cache",
  });
  assert.deepEqual(bucketUrls("cache", { region: "eu-central-1" }), {
    bucketUrl: "https://cache.s3.eu-central-1.amazonaws.com/",
    listUrl: "https://cache.s3.eu-central-1.amazonaws.com/",
  });
  assert.deepEqual(bucketUrls("my.cache", { region: "eu-central-1" }), {
    bucketUrl: "https://s3.eu-central-1.amazonaws.com/my.cache/",
    listUrl: "https://s3.eu-central-1.amazonaws.com/my.cache",
  });
});

Deno.test("parseIni: sections, comments, and nested settings that stay nested", () => {
  const ini = parseIni(CONFIG);
  assert.deepEqual([...ini.keys()], [
    "default",
    "profile cfgonly",
    "profile ci",
    "profile roleonly",
  ]);
  assert.deepEqual(Object.fromEntries(ini.get("default")!), { region: "eu-west-1" });
});
