/**
 * Reading images back for the assertions: straight from OCI layout files or registry HTTP
 * endpoints (not through Spackle's code).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

/** A descriptor as found in manifests. */
export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
}

/** A manifest and its config, as read. */
export interface ReadImage {
  /** `sha256:` of the manifest bytes. */
  digest: string;
  /** The manifest. */
  manifest: {
    mediaType: string;
    config: Desc;
    layers: Desc[];
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  /** The config. */
  config: {
    created?: string;
    architecture?: string;
    os?: string;
    config: {
      Env: string[];
      Cmd?: string[];
      Entrypoint?: string[];
      Labels?: Record<string, string>;
    };
    rootfs: { type: string; diff_ids: string[] };
    history?: { created?: string; created_by?: string; empty_layer?: boolean }[];
    [key: string]: unknown;
  };
}

/** Bytes of blob `digest` in layout `dir`. */
export function layoutBlob(dir: string, digest: string): Uint8Array {
  return Deno.readFileSync(join(dir, "blobs", "sha256", digest.slice("sha256:".length)));
}

/** Tags of the layout `dir` (none when it does not exist). */
export function layoutTagsOf(dir: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(join(dir, "index.json"));
  } catch {
    return [];
  }
  return (JSON.parse(text).manifests as { annotations?: Record<string, string> }[])
    .map((m) => m.annotations?.["org.opencontainers.image.ref.name"] ?? "");
}

/** The image tagged `tag` in layout `dir`. */
export function readLayoutImage(dir: string, tag: string): ReadImage {
  const index = JSON.parse(Deno.readTextFileSync(join(dir, "index.json")));
  const entry = index.manifests.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  if (!entry) throw new Error(`no tag ${tag} in ${dir}`);
  const decode = (digest: string) => JSON.parse(new TextDecoder().decode(layoutBlob(dir, digest)));
  const manifest = decode(entry.digest);
  return { digest: entry.digest, manifest, config: decode(manifest.config.digest) };
}

/** The image `repo:tag` of the registry at `url`, asking for `accept` media types. */
export async function readRegistryImage(
  url: string,
  repo: string,
  tag: string,
  accept = "application/vnd.oci.image.manifest.v1+json",
): Promise<ReadImage> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { headers: { accept } });
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${tag}: ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const manifest = JSON.parse(new TextDecoder().decode(bytes));
  const config = await (await fetch(`${url}/v2/${repo}/blobs/${manifest.config.digest}`)).json();
  return { digest: sha256(bytes), manifest, config };
}

/** `sha256:<hex>` of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** The value of variable `key` in a config `Env` list. */
export function envOf(env: readonly string[], key: string): string | undefined {
  const entry = env.find((e) => e.startsWith(`${key}=`));
  return entry?.slice(key.length + 1);
}
