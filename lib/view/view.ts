/**
 * Filesystem views as Spack's environments make them: one merged tree of directories and links
 * into the installed prefixes of a set of specs, replaced atomically.
 *
 * A view at `<dir>/<name>` is a symlink to `<dir>/._<name>/<content hash>`; a new view is built
 * beside the old one, the symlink is swapped with a rename, and only then is the old directory
 * removed (Spack's `ViewDescriptor.regenerate` with a `SimpleFilesystemView`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { UsageError } from "../errors.ts";
import { base32 } from "../spec/hash.ts";
import { compactJson } from "../spec/json.ts";
import { matchesSelector } from "../spec/select.ts";
import {
  type ConcreteSpec,
  type DepType,
  isExternal,
  shortSpec,
  type SpecNode,
} from "../spec/spec.ts";
import { exists } from "../stream/io.ts";
import { MergePlan } from "./_merge.ts";
import { topoNodes } from "../spec/topo.ts";
import { ViewConflictError, ViewError } from "./errors.ts";
import { formatProjection, projectionFor } from "./projection.ts";
import { diskTree, type ViewTree } from "./tree.ts";

/**
 * Which dependencies of the roots a view holds (`link:` of a view): `all` (Spack's default) the
 * roots and their transitive link and run dependencies, `run` the roots and their transitive run
 * dependencies, `roots` the roots only.
 */
export type ViewLink = "all" | "run" | "roots";

/** How files enter the view (`link_type:`); `copy` views (relocated copies) are not supported. */
export type ViewLinkType = "symlink" | "hardlink" | "copy";

/** Which specs a view holds and where (a view's `link`, `select`, `exclude`, `projections`). */
export interface ViewSelection {
  /** Default `all`. */
  readonly link?: ViewLink;
  /**
   * Only specs matching one of these selectors: `name`, `name@version`, `/hash` (Spack takes any
   * spec constraint here; others match nothing).
   */
  readonly select?: readonly string[];
  /** No spec matching one of these selectors. */
  readonly exclude?: readonly string[];
  /**
   * Sub-directory per spec, first matching key wins, `all` as fallback, e.g.
   * `{all: "{name}-{version}"}`. Default: every spec at the view root.
   */
  readonly projections?: Readonly<Record<string, string>>;
}

/** Options of {@link planView}. */
export interface PlanViewOptions extends ViewSelection {
  /** The view path (named in errors). */
  readonly root: string;
  /** The concrete roots (e.g. an environment's). */
  readonly specs: readonly ConcreteSpec[];
  /** The installed prefix of a (non-external) node. */
  prefixOf(node: SpecNode): string;
  /** Where the prefixes are read; default the local filesystem ({@link diskTree}). */
  readonly tree?: ViewTree;
}

/** Options of {@link buildView}. */
export interface BuildViewOptions extends Omit<PlanViewOptions, "tree"> {
  /** The view path: a symlink to the real view directory, made or replaced. */
  readonly root: string;
  /** Default `symlink`. */
  readonly linkType?: ViewLinkType;
}

/** One file of a view: where it goes and the file in a prefix it links to. */
export interface ViewFile {
  /** Path relative to the view root. */
  readonly path: string;
  /** Absolute path of the file in its prefix. */
  readonly target: string;
  /** The target is itself a symlink (a hard link goes to what it points at). */
  readonly targetIsSymlink: boolean;
}

/** The tree of a view, as {@link planView} computes it. */
export interface ViewPlan {
  /** Specs linked into the view, in the order they were merged. */
  readonly specs: readonly SpecNode[];
  /** Selected specs left out because their prefix does not exist (not installed). */
  readonly notInstalled: readonly SpecNode[];
  /** Directories to make, relative to the view root, parents first. */
  readonly directories: readonly string[];
  /** Files to link, in merge order. */
  readonly files: readonly ViewFile[];
  /** Paths where two packages had different files; the first was kept. */
  readonly ignoredConflicts: readonly { path: string; kept: string; dropped: string }[];
}

/** What {@link buildView} did. */
export interface ViewResult {
  /** The view path (the symlink). */
  readonly root: string;
  /** The directory it points to: `<dirname(root)>/._<basename(root)>/<content hash>`. */
  readonly target: string;
  /** Specs linked into the view, in the order they were merged. */
  readonly specs: readonly SpecNode[];
  /** Selected specs left out because their prefix does not exist (not installed). */
  readonly notInstalled: readonly SpecNode[];
  /** Paths (relative to the view) where two packages had different files; the first was kept. */
  readonly ignoredConflicts: readonly { path: string; kept: string; dropped: string }[];
  /** True when the view already had this content and nothing was touched. */
  readonly unchanged: boolean;
  /** The previous view directory, removed after the swap. */
  readonly removed?: string;
}

const DEPTYPES: Record<ViewLink, DepType[]> = {
  all: ["link", "run"],
  run: ["run"],
  roots: [],
};

/**
 * The nodes a view of `roots` holds, Spack's `specs_for_view`: the roots and the dependencies
 * `selection.link` asks for (default: link and run), in topological order (dependents before
 * dependencies), each DAG hash once, externals dropped, filtered by `select` and `exclude`.
 * Installation is not checked here.
 *
 * @example
 * ```ts
 * import { readLockfile } from "@spackle/spackle/env";
 * import { specsForView } from "@spackle/spackle/view";
 * const lock = await readLockfile("./myenv/spack.lock");
 * const names = specsForView(lock.roots.map((r) => r.concrete)).map((n) => n.name);
 * ```
 */
export function specsForView(
  roots: readonly ConcreteSpec[],
  selection: ViewSelection = {},
): SpecNode[] {
  const order = topoNodes(roots, DEPTYPES[selection.link ?? "all"]);
  const matches = (n: SpecNode, selectors: readonly string[]) =>
    selectors.some((s) => matchesSelector(n, s));
  return newestRuntimes(order.filter((n) =>
    !isExternal(n) &&
    (!selection.select?.length || matches(n, selection.select)) &&
    !(selection.exclude?.length && matches(n, selection.exclude))
  ));
}

/** Packages Spack tags `runtime`: a view keeps only the newest version of each. */
const RUNTIME_PACKAGES = new Set(["gcc-runtime"]);

/** Spack's `_exclude_duplicate_runtimes`: of several runtime specs of one name, the newest. */
function newestRuntimes(nodes: SpecNode[]): SpecNode[] {
  const newest = new Map<string, SpecNode>();
  for (const n of nodes) {
    if (!RUNTIME_PACKAGES.has(n.name)) continue;
    const best = newest.get(n.name);
    if (!best || compareVersions(n.version ?? "", best.version ?? "") > 0) newest.set(n.name, n);
  }
  return nodes.filter((n) => !RUNTIME_PACKAGES.has(n.name) || newest.get(n.name) === n);
}

/** Dotted versions compared part by part, numbers numerically (enough for runtime versions). */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [pa[i] ?? "", pb[i] ?? ""];
    const d = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x.localeCompare(y);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Builds the view of `options.specs` at `options.root` as Spack's environment views do, then
 * swaps it in atomically.
 *
 * The tree: every directory of the selected prefixes is a real directory; every file (and every
 * symlink, except a symlinked directory near the top of a prefix pointing into it, which is
 * merged as a directory) becomes a link to the file in its prefix; each prefix's `.spack/` goes to
 * `.spack/<name>/`. Two different files at one path: the first spec in view order wins (reported
 * in `ignoredConflicts`, as Spack ignores them in environment views).
 *
 * Atomicity: the tree is built in `<dir>/._<name>/<content hash>`, a temporary symlink to it is
 * renamed over `root`, and the previous view directory (if it was beside) is removed. On failure
 * the new directory and the temporary symlink are removed and the old view stays. When the
 * content hash equals the current target, nothing is done (`unchanged`).
 *
 * @example
 * ```ts
 * import { buildView, openEnvironment } from "@spackle/spackle";
 * const env = await openEnvironment("./myenv");
 * await buildView({
 *   root: env.defaultView!.root,
 *   specs: env.roots.map((r) => r.concrete),
 *   prefixOf: (node) => `/opt/sw/linux-x86_64/${node.name}-${node.version}-${node.hash}`,
 * });
 * ```
 * @throws {ViewConflictError} when a file meets a directory at one path, two specs of one
 *   package project to the same place, or package metadata clashes; nothing is changed.
 * @throws {ViewError} when `root` is a non-empty directory, or the target directory already holds
 *   something.
 * @throws {UsageError} for `linkType: "copy"` or an unknown projection field.
 */
export async function buildView(options: BuildViewOptions): Promise<ViewResult> {
  const root = resolve(options.root);
  const linkType = options.linkType ?? "symlink";
  if (linkType === "copy") {
    throw new UsageError(`view ${root}: link_type copy (relocated copies) is not supported`);
  }
  const { specs, notInstalled } = await installedSpecs(options, diskTree);
  const hash = contentHash(root, options, specs);
  const target = join(dirname(root), `._${basename(root)}`, hash);
  const old = await currentTarget(root);
  const base = { root, target, specs, notInstalled };
  if (old === target && await exists(target)) {
    return { ...base, ignoredConflicts: [], unchanged: true };
  }

  const plan = await mergeView(root, specs, options, diskTree);
  await checkTarget(root, target);
  await clearRoot(root);
  const tmpLink = join(
    dirname(root),
    `._${basename(root)}_link-${crypto.randomUUID().slice(0, 8)}`,
  );
  try {
    await Deno.mkdir(target, { recursive: true });
    await writePlan(plan, target, linkType);
    await Deno.symlink(target, tmpLink);
    await Deno.rename(tmpLink, root);
  } catch (e) {
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await Deno.remove(tmpLink).catch(() => {});
    throw e;
  }
  const ignoredConflicts = ignoredOf(plan);
  // Only a directory beside the new one is ours to remove: a user's own symlink target is not.
  if (old && old !== target && dirname(old) === dirname(target) && await exists(old)) {
    await Deno.remove(old, { recursive: true });
    return { ...base, ignoredConflicts, unchanged: false, removed: old };
  }
  return { ...base, ignoredConflicts, unchanged: false };
}

/**
 * The tree of the view of `options.specs`, without writing anything: the directories to make
 * and the files to link, by the rules of {@link buildView} (which builds exactly this tree),
 * read from `options.tree` (default the local filesystem). This is how a view can be made
 * elsewhere than on disk, e.g. as an image layer of symlinks.
 *
 * @example
 * ```ts
 * import { openStore } from "@spackle/spackle";
 * import { planView } from "@spackle/spackle/view";
 * const store = await openStore("/opt/spack/opt/spack");
 * const plan = await planView({
 *   root: "/opt/view",
 *   specs: store.specs.map((s) => s.spec),
 *   prefixOf: (node) => store.prefixOf(node),
 * });
 * for (const file of plan.files) console.log(`/opt/view/${file.path} -> ${file.target}`);
 * ```
 * @throws {ViewConflictError} when a file meets a directory at one path, two specs of one
 *   package project to the same place, or package metadata clashes.
 * @throws {UsageError} for an unknown projection field.
 */
export async function planView(options: PlanViewOptions): Promise<ViewPlan> {
  const tree = options.tree ?? diskTree;
  const { specs, notInstalled } = await installedSpecs(options, tree);
  const plan = await mergeView(options.root, specs, options, tree);
  return {
    specs,
    notInstalled,
    directories: [...plan.dirs.keys()],
    files: [...plan.files].map(([path, src]) => ({
      path,
      target: src.path,
      targetIsSymlink: src.symlink,
    })),
    ignoredConflicts: ignoredOf(plan),
  };
}

/** The selected specs, split by whether their prefix exists in `tree`. */
async function installedSpecs(
  options: PlanViewOptions,
  tree: ViewTree,
): Promise<{ specs: SpecNode[]; notInstalled: SpecNode[] }> {
  const specs: SpecNode[] = [];
  const notInstalled: SpecNode[] = [];
  for (const node of specsForView(options.specs, options)) {
    (await tree.exists(options.prefixOf(node)) ? specs : notInstalled).push(node);
  }
  return { specs, notInstalled };
}

function ignoredOf(plan: MergePlan): ViewPlan["ignoredConflicts"] {
  return plan.ignored.map((c) => ({ path: c.path, kept: c.kept.spec, dropped: c.dropped.spec }));
}

/** The merge plan: projections checked, package files, then each package's metadata. */
async function mergeView(
  root: string,
  specs: readonly SpecNode[],
  options: PlanViewOptions,
  tree: ViewTree,
): Promise<MergePlan> {
  const projections = new Map<string, string>();
  const metaSeen = new Map<string, SpecNode>();
  for (const node of specs) {
    const projection = formatProjection(node, projectionFor(node, options.projections));
    projections.set(node.hash, projection);
    // Spack's sanity check: two specs whose metadata directories coincide share a prefix.
    const meta = metaDir(projection, node.name);
    const other = metaSeen.get(meta);
    if (other) {
      throw new ViewConflictError(
        root,
        projection || ".",
        { spec: shortSpec(other), source: options.prefixOf(other) },
        { spec: shortSpec(node), source: options.prefixOf(node) },
        "two specs of one package project to the same prefix",
      );
    }
    metaSeen.set(meta, node);
  }
  const plan = new MergePlan(root, tree);
  for (const node of specs) {
    await plan.merge(options.prefixOf(node), projections.get(node.hash)!, shortSpec(node), {
      ignoreMeta: true,
      strict: false,
    });
  }
  for (const node of specs) {
    const meta = metaDir(projections.get(node.hash)!, node.name);
    const source = join(options.prefixOf(node), ".spack");
    if (await tree.exists(source)) {
      await plan.merge(source, meta, shortSpec(node), { ignoreMeta: false, strict: true });
    } else plan.addProjection(meta, shortSpec(node));
  }
  return plan;
}

function metaDir(projection: string, name: string): string {
  return projection ? `${projection}/.spack/${name}` : `.spack/${name}`;
}

async function writePlan(plan: MergePlan, target: string, linkType: ViewLinkType) {
  for (const dir of plan.dirs.keys()) await Deno.mkdir(join(target, dir));
  for (const [dst, src] of plan.files) {
    if (linkType === "hardlink") {
      // Hard links go to the file itself, as Python's os.link follows symlinks.
      await Deno.link(src.symlink ? await Deno.realPath(src.path) : src.path, join(target, dst));
    } else await Deno.symlink(src.path, join(target, dst));
  }
}

/**
 * Spack's `content_hash`: base32 SHA-1 of the view descriptor and the `(DAG hash, prefix)` pairs
 * it holds, so a view with the same content keeps its directory.
 */
function contentHash(root: string, options: BuildViewOptions, specs: readonly SpecNode[]) {
  const descriptor: Record<string, unknown> = { root };
  if (Object.keys(options.projections ?? {}).length) descriptor.projections = options.projections;
  if (options.select?.length) descriptor.select = options.select;
  if (options.exclude?.length) descriptor.exclude = options.exclude;
  if (options.linkType) descriptor.link_type = options.linkType;
  if ((options.link ?? "all") !== "all") descriptor.link = options.link;
  const pairs = specs.map((n) => [n.hash, options.prefixOf(n)]).sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
  );
  const digest = createHash("sha1").update(compactJson({ descriptor, specs: pairs })).digest();
  return base32(new Uint8Array(digest));
}

/** Where the view symlink points now (absolute), or undefined when it is not a symlink. */
async function currentTarget(root: string): Promise<string | undefined> {
  try {
    const link = await Deno.readLink(root);
    return isAbsolute(link) ? link : join(dirname(root), link);
  } catch {
    return undefined;
  }
}

/** Spack refuses to build into a target directory that exists and is not empty. */
async function checkTarget(root: string, target: string) {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(target);
  } catch {
    return;
  }
  if (info.isDirectory) {
    for await (const _ of Deno.readDir(target)) {
      throw new ViewError(root, `${target} already exists and is not empty; remove it`);
    }
    return;
  }
  throw new ViewError(root, `${target} already exists and is not a directory; remove it`);
}

/** An empty directory at the view path makes way for the symlink; a non-empty one is refused. */
async function clearRoot(root: string) {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(root);
  } catch {
    return;
  }
  if (!info.isDirectory) return;
  try {
    await Deno.remove(root);
  } catch (e) {
    throw new ViewError(root, "it is a non-empty directory", { cause: e });
  }
}
