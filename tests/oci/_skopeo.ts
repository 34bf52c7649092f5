/** skopeo, the independent OCI client the OCI mirror tests check against. */
import { join } from "node:path";

/** Runs skopeo with `args`; returns stdout, throws with stderr on failure. */
export async function skopeo(...args: string[]): Promise<string> {
  const out = await new Deno.Command("skopeo", { args, stdin: "null" }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) throw new Error(`skopeo ${args.join(" ")} failed: ${decode(out.stderr)}`);
  return decode(out.stdout);
}

/** Tags listed in the `index.json` of the OCI image layout `dir`. */
export async function layoutTags(dir: string): Promise<string[]> {
  const index = JSON.parse(await Deno.readTextFile(join(dir, "index.json"))) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  return index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"])
    .filter((t): t is string => t !== undefined);
}

/** Copies every tag of the OCI layout `dir` to `host/repo` with digests preserved. */
export async function serveLayout(dir: string, host: string, repo: string): Promise<string[]> {
  const tags = await layoutTags(dir);
  for (const tag of tags) {
    await skopeo(
      "copy",
      "--quiet",
      "--preserve-digests",
      "--dest-tls-verify=false",
      `oci:${dir}:${tag}`,
      `docker://${host}/${repo}:${tag}`,
    );
  }
  return tags;
}
