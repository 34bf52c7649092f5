/**
 * Image configs (OCI image-spec `config.md`, the same JSON in Docker's format) for images made
 * of a base image plus package layers: the base's config kept, `rootfs.diff_ids` and `history`
 * extended layer by layer, `Env` search paths (PATH, …) led by the packages' directories, and a
 * deterministic `created`. Spack's image environment is the model (build cache format reference
 * §4.3, §4.5, §4.6), without its duplicated PATH entries and missing history (§8 item 10).
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import type { ImagePlatform } from "./platform.ts";

/** The PATH Spack starts from before the base image's `Env` is applied (§4.5). */
export const DEFAULT_PATH = "/bin:/usr/bin";

/** One layer added on top of the base: its `diff_id` and its `history` entry. */
export interface AddedLayer {
  /** `sha256:<hex>` of the uncompressed tar. */
  readonly diffId: string;
  /** `history[].created_by`: what made the layer. */
  readonly createdBy: string;
}

/** What {@link imageConfig} builds from. */
export interface ImageConfigInput {
  /** The base image's config (left unchanged); none for an image from scratch. */
  readonly base?: Readonly<Record<string, unknown>>;
  /** Number of layers of the base image (to complete a base history that lacks entries). */
  readonly baseLayers: number;
  /** Platform recorded when the base does not name one. */
  readonly platform: ImagePlatform;
  /** Layers added on top of the base, bottom first. */
  readonly added: readonly AddedLayer[];
  /** Directories put ahead of the base's PATH, in order (duplicates dropped). */
  readonly path?: readonly string[];
  /**
   * Directories put ahead of the base's value of each search-path variable (`PATH`,
   * `PKG_CONFIG_PATH`, …), in order, before `path`; duplicates dropped.
   */
  readonly searchPaths?: Readonly<Record<string, readonly string[]>>;
  /** Variables set after the search paths are computed (a `PATH` here replaces it). */
  readonly env?: Readonly<Record<string, string>>;
  /** `config.Entrypoint`; setting it without `cmd` clears the base's `Cmd`, as Docker does. */
  readonly entrypoint?: readonly string[];
  /** `config.Cmd`. */
  readonly cmd?: readonly string[];
  /** Labels merged over the base's `config.Labels`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** RFC 3339 time for `created` and the new history entries. */
  readonly created: string;
}

/**
 * The `created` time of a composed image: `explicit` when given, else the base's `created`, else
 * `SOURCE_DATE_EPOCH` (seconds), else the Unix epoch, so composing twice gives the same bytes.
 *
 * @throws {UsageError} when `SOURCE_DATE_EPOCH` is set but not a whole number of seconds.
 *
 * @example
 * ```ts
 * import { imageCreated } from "@spackle/spackle/oci";
 * imageCreated({ created: "2026-01-01T00:00:00Z" }); // "2026-01-01T00:00:00Z"
 * imageCreated(undefined); // SOURCE_DATE_EPOCH as RFC 3339, else "1970-01-01T00:00:00Z"
 * ```
 */
export function imageCreated(
  base: Readonly<Record<string, unknown>> | undefined,
  explicit?: string,
): string {
  if (explicit !== undefined) return explicit;
  if (typeof base?.created === "string") return base.created;
  const epoch = Deno.env.get("SOURCE_DATE_EPOCH");
  if (epoch === undefined || epoch === "") return new Date(0).toISOString().replace(".000Z", "Z");
  if (!/^[0-9]+$/.test(epoch)) {
    throw new UsageError(`SOURCE_DATE_EPOCH must be a number of seconds, not ${epoch}`);
  }
  return new Date(Number(epoch) * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * `config.Env` of a composed image: `PATH` first (Spack's `/bin:/usr/bin` unless the base sets
 * it), then the base's other variables in their order, then new variables; each search-path
 * variable of `paths` (an array: PATH alone) has its directories put ahead of the base's
 * value, every directory once; then `overrides` replace or add variables.
 *
 * @example
 * ```ts
 * import { imageEnv } from "@spackle/spackle/oci";
 * imageEnv(["LANG=C", "PATH=/usr/bin:/bin"], ["/opt/app/bin", "/usr/bin"]);
 * // ["PATH=/opt/app/bin:/usr/bin:/bin", "LANG=C"]
 * imageEnv(["PATH=/bin"], { PATH: ["/opt/app/bin"], PKG_CONFIG_PATH: ["/opt/app/lib/pkgconfig"] });
 * // ["PATH=/opt/app/bin:/bin", "PKG_CONFIG_PATH=/opt/app/lib/pkgconfig"]
 * ```
 */
export function imageEnv(
  baseEnv: unknown,
  paths: readonly string[] | Readonly<Record<string, readonly string[]>>,
  overrides: Readonly<Record<string, string>> = {},
): string[] {
  const vars = new Map<string, string | undefined>([["PATH", DEFAULT_PATH]]);
  for (const entry of Array.isArray(baseEnv) ? baseEnv : []) {
    if (typeof entry !== "string") continue;
    const eq = entry.indexOf("=");
    // An entry without `=` names a variable passed through from the runtime: kept as written.
    if (eq < 0) vars.set(entry, undefined);
    else vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  const byVariable = isStringArray(paths) ? { PATH: paths } : paths;
  for (const [variable, ahead] of Object.entries(byVariable)) {
    if (ahead.length === 0 && variable !== "PATH") continue;
    const dirs = [...ahead, ...(vars.get(variable) ?? "").split(":")].filter((d) => d !== "");
    vars.set(variable, [...new Set(dirs)].join(":"));
  }
  for (const [key, value] of Object.entries(overrides)) vars.set(key, value);
  return [...vars].map(([key, value]) => value === undefined ? key : `${key}=${value}`);
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value);
}

/**
 * The config of an image made of the base's layers plus `added`: a copy of the base config (or
 * a minimal one) with `created`, `rootfs.diff_ids`, `config.Env`, entrypoint, command, labels
 * and one `history` entry per added layer. A base history with fewer entries than the base has
 * layers is completed first, so that history and layers stay aligned for the tools that pair
 * them. Keys keep the base's order; new keys are appended.
 *
 * @example
 * ```ts
 * import { imageConfig } from "@spackle/spackle/oci";
 * const config = imageConfig({
 *   baseLayers: 0,
 *   platform: { os: "linux", architecture: "amd64" },
 *   added: [{ diffId: "sha256:" + "0".repeat(64), createdBy: "zlib-ng@2.2.4/abcdefg" }],
 *   path: ["/opt/sw/zlib-ng-2.2.4-abc/bin"],
 *   created: "1970-01-01T00:00:00Z",
 * });
 * ```
 */
export function imageConfig(input: ImageConfigInput): Record<string, unknown> {
  const config: Record<string, unknown> = input.base ? structuredClone(input.base) : {
    created: input.created,
    architecture: input.platform.architecture,
    os: input.platform.os,
    config: {},
    rootfs: { type: "layers", diff_ids: [] },
    history: [],
  };
  const baseCreated = typeof config.created === "string" ? config.created : input.created;
  config.created = input.created;
  config.architecture ??= input.platform.architecture;
  config.os ??= input.platform.os;

  const container = { ...(config.config as Record<string, unknown> | undefined) };
  const searchPaths = { ...input.searchPaths };
  searchPaths.PATH = [...(searchPaths.PATH ?? []), ...(input.path ?? [])];
  container.Env = imageEnv(container.Env, searchPaths, input.env);
  if (input.entrypoint) {
    container.Entrypoint = [...input.entrypoint];
    if (!input.cmd) delete container.Cmd;
  }
  if (input.cmd) container.Cmd = [...input.cmd];
  if (input.labels && Object.keys(input.labels).length) {
    container.Labels = { ...(container.Labels as Record<string, string>), ...input.labels };
  }
  config.config = container;

  const rootfs = (config.rootfs ?? {}) as { diff_ids?: unknown };
  const diffIds = Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids : [];
  config.rootfs = {
    ...rootfs,
    type: "layers",
    diff_ids: [...diffIds, ...input.added.map((l) => l.diffId)],
  };

  const history = Array.isArray(config.history) ? [...config.history] : [];
  const described = history.filter((h) => !(h as { empty_layer?: boolean })?.empty_layer).length;
  const undescribed = Array.from({ length: Math.max(0, input.baseLayers - described) }, () => ({
    created: baseCreated,
    comment: "base image layer without history",
  }));
  config.history = [
    ...undescribed,
    ...history,
    ...input.added.map((l) => ({ created: input.created, created_by: l.createdBy })),
  ];
  return config;
}
