/**
 * `spack mirror add|set|set-url|remove` on one YAML file (a scope's `mirrors.yaml` or an
 * environment's `spack.yaml`), writing exactly the entries Spack 1.2 writes while leaving the
 * rest of the file byte for byte as it was. Only environment variable names are ever written,
 * never a secret.
 *
 * Source: Spack build cache format reference §5.3 (`spack mirror …` → YAML) and
 * `Mirror.update` (§5.1).
 *
 * @module
 */
import { mkdir, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { isMap, type Node, type Pair, visit, type YAMLMap } from "yaml";
import { UsageError } from "../errors.ts";
import { hasUrlPassword, redactUserinfo } from "../net/http.ts";
import { streamOf, writeFileAtomic } from "../stream/io.ts";
import { mirrorsSection } from "./_section.ts";
import {
  keyOf,
  plainEqual,
  plainOf,
  type PlainValue,
  renderBlock,
  renderFlow,
  TextEditor,
} from "./_splice.ts";
import { mirrorsSectionPath, parseYaml, readYaml, splitKey, type YamlFile } from "./_yaml.ts";
import { MirrorError } from "./errors.ts";
import type { AccessPair, MirrorDirection } from "./types.ts";

/**
 * Settings of a mirror as `spack mirror add/set` write them (YAML key in parentheses). Secrets
 * are never values here: only the names of the environment variables that hold them.
 */
export interface MirrorSettings {
  /** Mirror URL or path, stored verbatim (`url`). */
  readonly url?: string;
  /** Credentials by variable name (`access_pair`). */
  readonly accessPair?: AccessPair;
  /** Variable holding an S3 session token (`access_token_variable`). */
  readonly accessTokenVariable?: string;
  /** AWS profile (`profile`). */
  readonly profile?: string;
  /** S3-compatible endpoint (`endpoint_url`). */
  readonly endpointUrl?: string;
  /** Holds binary packages (`binary`). */
  readonly binary?: boolean;
  /** Holds source archives (`source`). */
  readonly source?: boolean;
  /** Signed build cache (`signed`). */
  readonly signed?: boolean;
  /** Push installed specs automatically (`autopush`). */
  readonly autopush?: boolean;
  /** Index view (`view`); only `add` writes it, as Spack. */
  readonly view?: string;
}

// Key order of `spack mirror add` (reference §5.3).
const ADD_KEYS = [
  "url",
  "access_pair",
  "access_token_variable",
  "profile",
  "endpoint_url",
  "binary",
  "source",
  "autopush",
  "signed",
  "view",
];
// Keys `Mirror.update` changes, in the order it appends new ones; connection keys first.
const CONNECTION_KEYS = ["url", "access_pair", "access_token_variable", "profile", "endpoint_url"];
const TOP_LEVEL_KEYS = [...CONNECTION_KEYS, "binary", "source", "signed", "autopush"];

function settingsData(settings: MirrorSettings): Map<string, PlainValue> {
  for (const url of [settings.url, settings.endpointUrl]) {
    if (url !== undefined && hasUrlPassword(url)) {
      throw new UsageError(
        `refusing to store a password written in the URL ${redactUserinfo(url)}: give the ` +
          "URL without user:password@ and name environment variables instead " +
          "(--oci-username-variable/--oci-password-variable, " +
          "--s3-access-key-id-variable/--s3-access-key-secret-variable)",
      );
    }
  }
  const pair = settings.accessPair;
  if (
    pair && (!pair.secretVariable || (pair.id === undefined) === (pair.idVariable === undefined))
  ) {
    throw new UsageError(
      "an access pair needs a secret variable and exactly one of a literal id and an id variable",
    );
  }
  const values: Record<string, PlainValue | undefined> = {
    url: settings.url,
    access_pair: pair &&
      new Map([
        pair.idVariable !== undefined ? ["id_variable", pair.idVariable] : ["id", pair.id!],
        ["secret_variable", pair.secretVariable],
      ]),
    access_token_variable: settings.accessTokenVariable,
    profile: settings.profile,
    endpoint_url: settings.endpointUrl,
    binary: settings.binary,
    source: settings.source,
    autopush: settings.autopush,
    signed: settings.signed,
    view: settings.view,
  };
  return new Map(
    ADD_KEYS.filter((k) => values[k] !== undefined).map((k) => [k, values[k]!] as const),
  );
}

/** The parsed file and where its `mirrors` section is. */
interface Target {
  readonly file: YamlFile;
  readonly ed: TextEditor;
  /** `spack: mirrors:` of an environment manifest rather than a scope's `mirrors:`. */
  readonly isEnv: boolean;
  /** The `spack` pair of an environment manifest. */
  readonly spackPair?: Pair;
  /** The `mirrors` pair, if present. */
  readonly sectionPair?: Pair;
  /** Indentation step of the file. */
  readonly step: number;
}

function findPair(map: unknown, name: string): Pair | undefined {
  return isMap(map) ? map.items.find((p) => splitKey(keyOf(p)).name === name) : undefined;
}

function indentStep(file: YamlFile, ed: TextEditor): number {
  let step = 0;
  visit(file.doc, {
    Pair(_, pair) {
      const child = pair.value;
      if (isMap(child) && !child.flow && child.items.length > 0) {
        const d = ed.column((child.items[0].key as Node).range![0]) -
          ed.column((pair.key as Node).range![0]);
        if (d > 0) {
          step = d;
          return visit.BREAK;
        }
      }
    },
  });
  return step || 2;
}

async function openTarget(path: string): Promise<Target> {
  const file = await readYaml(path);
  mirrorsSection(file); // refuse to edit what Spack 1.2 would refuse to read
  const ed = new TextEditor(file.text);
  const root = file.doc.contents;
  const isEnv = mirrorsSectionPath(file).length === 2 ||
    (!isMap(root) && /^spack\.ya?ml$/.test(basename(path)));
  const spackPair = isEnv ? findPair(root, "spack") : undefined;
  const parent = isEnv ? spackPair?.value : root;
  return {
    file,
    ed,
    isEnv,
    spackPair,
    sectionPair: findPair(parent, "mirrors"),
    step: indentStep(file, ed),
  };
}

async function save(target: Target, text: string): Promise<void> {
  const path = target.file.path;
  mirrorsSection(parseYaml(text, path)); // never write a file Spack would reject
  let mode = 0o644;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    await mkdir(dirname(path), { recursive: true });
  }
  await writeFileAtomic(path, streamOf(text), mode);
}

function sectionMap(target: Target): YAMLMap | undefined {
  const value = target.sectionPair?.value;
  return isMap(value) ? value : undefined;
}

/** Puts `name: value` first in the mirrors section, creating the section when needed. */
function insertFirst(target: Target, name: string, value: PlainValue): void {
  const { ed, step } = target;
  const entry = new Map([[name, value]]);
  const section = sectionMap(target);
  if (section && !section.flow) {
    const key = section.items[0].key as Node;
    const at = ed.commentsAbove(key.range![0]);
    ed.replace(at, at, renderBlock(entry, ed.column(key.range![0]), step));
  } else if (section && section.items.length > 0) {
    const all = new Map([...entry, ...(plainOf(section) as Map<string, PlainValue>)]);
    ed.replace(section.range![0], section.range![1], renderFlow(all));
  } else if (target.sectionPair) {
    ed.setBlockValue(target.sectionPair, entry, step);
  } else {
    addSection(target, new Map([["mirrors", entry]]));
  }
}

/** Adds a `mirrors:` section to a file that has none. */
function addSection(target: Target, section: Map<string, PlainValue>): void {
  const { ed, step } = target;
  const spack = target.spackPair?.value;
  if (target.spackPair && isMap(spack) && spack.items.length > 0) {
    if (spack.flow) {
      const all = new Map([...(plainOf(spack) as Map<string, PlainValue>), ...section]);
      ed.replace(spack.range![0], spack.range![1], renderFlow(all));
    } else {
      ed.appendPairs(spack, section, step);
    }
    return;
  }
  if (target.spackPair) {
    ed.setBlockValue(target.spackPair, section, step);
    return;
  }
  // An empty document (perhaps only comments): the section goes at the end.
  const text = ed.text;
  const value = target.isEnv ? new Map([["spack", section]]) : section;
  const newline = text.length > 0 && !text.endsWith("\n") ? "\n" : "";
  ed.replace(text.length, text.length, newline + renderBlock(value, 0, step));
}

/**
 * `spack mirror add NAME URL [flags]`: adds a mirror as the first entry of the file's mirrors
 * section. Without settings it is written as `NAME: URL` (verbatim); with any setting as a mapping
 * with keys in Spack's order `url, access_pair, access_token_variable, profile, endpoint_url,
 * binary, source, autopush, signed, view` (reference §5.3). The file (a scope's `mirrors.yaml`,
 * or an environment's `spack.yaml` with `spack: mirrors:`) is created when missing; everything
 * else in it is kept byte for byte. Written atomically.
 *
 * @throws {MirrorError} `MIRROR_EXISTS` ("Mirror with name X already exists.") when the file
 *   already has a mirror called `name`.
 * @throws {MirrorConfigError} when the file is not valid Spack 1.2 configuration.
 * @throws {UsageError} for an empty name or URL, an incomplete access pair, or a URL with a
 *   password in it.
 * @example
 * ```ts
 * await addMirror("./spack.yaml", "cache", "oci://ghcr.io/me/cache", {
 *   accessPair: { id: "me", secretVariable: "GITHUB_TOKEN" },
 *   signed: false,
 * });
 * ```
 */
export async function addMirror(
  file: string,
  name: string,
  url: string,
  settings: Omit<MirrorSettings, "url"> = {},
): Promise<void> {
  if (name.trim() === "" || url.trim() === "") {
    throw new UsageError(`a mirror needs a name and a URL (got ${JSON.stringify([name, url])})`);
  }
  const target = await openTarget(file);
  if (findPair(sectionMap(target), name)) {
    throw new MirrorError("MIRROR_EXISTS", name, `Mirror with name ${name} already exists.`);
  }
  const data = settingsData({ ...settings, url });
  insertFirst(target, name, data.size === 1 ? url : data);
  await save(target, target.ed.result());
}

/**
 * Spack's `Mirror.update` on plain data: without a direction the top-level keys change (a
 * `name: url` mirror is promoted to `{url: …}` unless only the URL changes); with a direction
 * its `fetch`/`push` entry changes, kept a plain string when only the URL is set, and only
 * connection keys apply. Existing keys keep their place; new keys are appended.
 */
function updateEntry(
  entry: PlainValue,
  data: Map<string, PlainValue>,
  direction?: MirrorDirection,
): { entry: PlainValue; changed: boolean } {
  const setUrl = data.size === 1 ? data.get("url") : undefined;
  if (!direction && typeof entry === "string" && setUrl !== undefined) {
    return { entry: setUrl, changed: entry !== setUrl };
  }
  const top = typeof entry === "string"
    ? new Map<string, PlainValue>([["url", entry]])
    : new Map(entry as Map<string, PlainValue>);
  if (!direction) return { entry: top, changed: updateKeys(top, data, TOP_LEVEL_KEYS) };

  const key = [...top.keys()].find((k) => splitKey(k).name === direction) ?? direction;
  const current = top.get(key);
  if (setUrl !== undefined && (current === undefined || typeof current === "string")) {
    top.set(key, setUrl);
    return { entry: top, changed: current !== setUrl };
  }
  const conn = current instanceof Map
    ? new Map(current)
    : new Map<string, PlainValue>(typeof current === "string" ? [["url", current]] : []);
  const changed = updateKeys(conn, data, CONNECTION_KEYS);
  top.set(key, conn);
  return { entry: top, changed };
}

function updateKeys(
  current: Map<string, PlainValue>,
  data: Map<string, PlainValue>,
  keys: readonly string[],
): boolean {
  let changed = false;
  for (const key of keys) {
    const want = data.get(key);
    if (want === undefined) continue;
    const existing = [...current.keys()].find((k) => splitKey(k).name === key);
    if (existing !== undefined && plainEqual(current.get(existing)!, want)) continue;
    current.set(existing ?? key, want);
    changed = true;
  }
  return changed;
}

/**
 * Splices the change from `pair`'s value to `value`, touching only what differs. Mappings that
 * `Mirror.update` edits key by key (the entry, its `fetch`/`push`) are patched key by key; other
 * values (an `access_pair`) are replaced whole, as Spack replaces them.
 */
function patchValue(
  ed: TextEditor,
  pair: Pair,
  value: PlainValue,
  step: number,
  byKey: boolean,
): void {
  const node = pair.value;
  if (plainEqual(plainOf(node), value)) return;
  if (byKey && value instanceof Map && isMap(node) && node.items.length > 0) {
    if (node.flow) {
      ed.replace(node.range![0], node.range![1], renderFlow(value));
      return;
    }
    const added = new Map<string, PlainValue>();
    for (const [key, v] of value) {
      const existing = node.items.find((p) => keyOf(p) === key);
      const direction = ["fetch", "push"].includes(splitKey(key).name);
      if (existing) patchValue(ed, existing, v, step, direction);
      else added.set(key, v);
    }
    if (added.size > 0) ed.appendPairs(node, added, step);
  } else if (value instanceof Map) {
    ed.setBlockValue(pair, value, step);
  } else {
    ed.setScalar(node as Node, value);
  }
}

/**
 * `spack mirror set [--fetch|--push] NAME [flags]` and `spack mirror set-url [--fetch|--push]
 * NAME URL [flags]` (the latter is `settings.url`), as Spack's `Mirror.update` (reference §5.3):
 * without `direction` the top-level keys change, promoting `NAME: URL` to a mapping unless only
 * the URL changes; with `direction` the `fetch`/`push` entry changes (created or kept as a plain
 * URL when only the URL is set) and `binary`, `source`, `signed`, `autopush` are ignored.
 * Existing keys are changed in place and new ones appended; the rest of the file is kept byte for
 * byte. `view` is not changed (Spack's `set` has no such flag). Written atomically, only when
 * something changed.
 *
 * @returns `false` when nothing changed (Spack: "No changes made to mirror NAME.").
 * @throws {MirrorError} `MIRROR_NOT_FOUND` ("No mirror found with name NAME.").
 * @throws {MirrorConfigError} when the file is not valid Spack 1.2 configuration.
 * @throws {UsageError} for an incomplete access pair, or a URL with a password in it.
 * @example
 * ```ts
 * await setMirror("./spack.yaml", "cache", { url: "oci://ghcr.io/me/push" }, "push");
 * ```
 */
export async function setMirror(
  file: string,
  name: string,
  settings: MirrorSettings,
  direction?: MirrorDirection,
): Promise<boolean> {
  const target = await openTarget(file);
  const section = sectionMap(target);
  const pair = findPair(section, name);
  if (!section || !pair) {
    throw new MirrorError("MIRROR_NOT_FOUND", name, `No mirror found with name ${name}.`);
  }
  const data = settingsData({ ...settings, view: undefined });
  if (data.size === 0) return false;
  const { entry, changed } = updateEntry(plainOf(pair.value), data, direction);
  if (!changed) return false;
  if (section.flow) {
    const all = new Map(plainOf(section) as Map<string, PlainValue>).set(keyOf(pair), entry);
    target.ed.replace(section.range![0], section.range![1], renderFlow(all));
  } else {
    patchValue(target.ed, pair, entry, target.step, true);
  }
  await save(target, target.ed.result());
  return true;
}

/**
 * `spack mirror remove NAME` on one file: deletes the mirror's entry (its lines, a comment on its
 * last line included); the section becomes `mirrors: {}` when it was the last one, as Spack
 * writes it. Everything else is kept byte for byte. Written atomically.
 *
 * @returns `false` when the file has no mirror called `name` (nothing is written).
 * @throws {MirrorConfigError} when the file is not valid Spack 1.2 configuration.
 * @example
 * ```ts
 * if (!await removeMirror(`${Deno.env.get("HOME")}/.spack/mirrors.yaml`, "old")) {
 *   console.log("No mirror with name old in user scope");
 * }
 * ```
 */
export async function removeMirror(file: string, name: string): Promise<boolean> {
  const target = await openTarget(file);
  const section = sectionMap(target);
  const pair = findPair(section, name);
  if (!section || !pair) return false;
  const { ed } = target;
  if (section.flow) {
    const rest = new Map(plainOf(section) as Map<string, PlainValue>);
    rest.delete(keyOf(pair));
    ed.replace(section.range![0], section.range![1], renderFlow(rest));
  } else if (section.items.length === 1) {
    const start = ed.colonEnd(target.sectionPair!);
    const end = ed.contentEnd(section);
    const lineTail = ed.text.slice(start, ed.lineEnd(start)).replace(/\n$/, "");
    ed.replace(start, end, ` {}${lineTail}${ed.text[end - 1] === "\n" ? "\n" : ""}`);
  } else {
    const key = pair.key as Node;
    ed.replace(ed.lineStart(key.range![0]), ed.contentEnd(pair.value as Node), "");
  }
  await save(target, ed.result());
  return true;
}
