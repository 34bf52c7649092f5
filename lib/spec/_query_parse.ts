/**
 * The parser behind `parseSpecQuery`: one spec in Spack's syntax, read left to right.
 * Attributes apply to the most recent node (the root, a `^` dependency or a `%` direct
 * dependency, as in Spack 1.x); `%` attaches to the last root-or-`^` node; `^` to the root.
 *
 * @module
 */
import { SpecSyntaxError } from "./errors.ts";
import { scanVersionConstraint } from "./version.ts";
import type { DependencyQuery, NodeQuery, SpecQuery, VariantQuery } from "./query.ts";
import type { DepType } from "./spec.ts";

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*/;
const HASH = /^[A-Za-z0-9_]+/;
const VALUE = /^[A-Za-z0-9_\-+*.,:=~/\\]+/;
const DEPTYPES: readonly DepType[] = ["build", "link", "run", "test"];
const FLAG_NAMES = new Set(["cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs"]);

function emptyNode(): NodeQuery {
  return { variants: [], platform: [], os: [], target: [], direct: [] };
}

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(detail: string, at = this.pos): never {
    throw new SpecSyntaxError(this.text, at + 1, detail);
  }

  skipWs(): void {
    while (/\s/.test(this.text[this.pos] ?? "")) this.pos++;
  }

  match(re: RegExp): string {
    const m = re.exec(this.text.slice(this.pos));
    if (!m) return "";
    this.pos += m[0].length;
    return m[0];
  }

  query(): SpecQuery {
    this.skipWs();
    if (this.pos >= this.text.length) this.fail("empty spec");
    const root = emptyNode();
    const dependencies: DependencyQuery[] = [];
    let anchor = root; // receives `%` dependencies
    let current = root; // receives attributes
    let first = true;
    for (;;) {
      this.skipWs();
      const c = this.text[this.pos];
      if (c === undefined) break;
      if (c === "^") {
        this.pos++;
        const dep = this.dependency("^");
        dependencies.push(dep);
        anchor = current = dep.node;
      } else if (c === "%") {
        this.pos += this.text[this.pos + 1] === "%" ? 2 : 1;
        const dep = this.dependency("%");
        anchor.direct.push(dep);
        current = dep.node;
      } else {
        this.attribute(current, first);
      }
      first = false;
    }
    return { text: this.text, root, dependencies };
  }

  /** After `^` or `%`: optional `virtual[,virtual]=`, then a package name and/or `/hash`. */
  dependency(sigil: string): DependencyQuery {
    this.skipWs();
    const node = emptyNode();
    const virtuals: string[] = [];
    const deptypes: DepType[] = [];
    if (this.text[this.pos] === "[") {
      this.edgeAttributes(virtuals, deptypes);
      this.skipWs();
    }
    const at = this.pos;
    let name = this.match(NAME);
    if (name && /^(,|=(?!=))/.test(this.text.slice(this.pos))) {
      virtuals.push(name);
      while (this.text[this.pos] === ",") {
        this.pos++;
        virtuals.push(this.match(NAME) || this.fail("expected a virtual name"));
      }
      if (this.text[this.pos] !== "=") this.fail("expected '=' after the virtuals");
      this.pos++;
      name = this.match(NAME) || this.fail(`expected a package name after '='`);
    }
    if (name) this.setName(node, name, at);
    else if (this.text[this.pos] !== "/") this.fail(`expected a package name after '${sigil}'`);
    return { virtuals, deptypes, node };
  }

  /** `[virtuals=a,b deptypes=build,link]` before a dependency. */
  edgeAttributes(virtuals: string[], deptypes: DepType[]): void {
    this.pos++;
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] === "]") break;
      const at = this.pos;
      const key = this.match(NAME) || this.fail("expected virtuals= or deptypes= or ']'");
      if (this.text[this.pos] !== "=") this.fail(`expected '=' after ${key}`);
      this.pos++;
      const values = this.value(key).split(",");
      if (key === "virtuals") {
        virtuals.push(...values);
        continue;
      }
      if (key !== "deptypes") this.fail(`unknown edge attribute ${JSON.stringify(key)}`, at);
      for (const t of values) {
        if (!DEPTYPES.includes(t as DepType)) this.fail(`unknown dependency type ${t}`, at);
        deptypes.push(t as DepType);
      }
    }
    this.pos++;
  }

  setName(node: NodeQuery, name: string, at: number): void {
    const dot = name.lastIndexOf(".");
    if (dot >= 0) {
      if (dot === name.length - 1) this.fail(`invalid package name ${JSON.stringify(name)}`, at);
      node.namespace = name.slice(0, dot);
    }
    node.name = name.slice(dot + 1);
  }

  attribute(node: NodeQuery, first: boolean): void {
    const at = this.pos;
    const c = this.text[at];
    if (c === "@") {
      this.pos++;
      this.skipWs();
      if (node.versions) this.fail("a second version constraint for the same node", at);
      const { constraint, end } = scanVersionConstraint(this.text, this.pos);
      node.versions = constraint;
      this.pos = end;
    } else if (c === "/") {
      this.pos++;
      const hash = this.match(HASH) || this.fail("expected a DAG hash after '/'");
      if (node.hash !== undefined) this.fail("a second hash for the same node", at);
      node.hash = hash;
    } else if (c === "+" || c === "~" || c === "-") {
      const propagate = this.text[at + 1] === c;
      this.pos += propagate ? 2 : 1;
      this.skipWs();
      const name = this.match(/^[A-Za-z0-9_][A-Za-z0-9_-]*/) ||
        this.fail(`expected a variant name after '${c}'`);
      node.variants.push({ name, values: [c === "+" ? "true" : "false"], exact: false, propagate });
    } else if (NAME.test(this.text.slice(at))) {
      const word = this.match(NAME);
      const assign = /^(:?)(==?)/.exec(this.text.slice(this.pos));
      if (assign) {
        if (word.includes(".")) this.fail(`invalid key ${JSON.stringify(word)}`, at);
        this.pos += assign[0].length;
        this.keyValue(node, word, assign[1] === ":", assign[2] === "==");
      } else if (first) {
        this.setName(node, word, at);
      } else {
        this.fail(`unexpected name ${JSON.stringify(word)} (one spec per query)`, at);
      }
    } else {
      this.fail(`unexpected ${JSON.stringify(c)}`);
    }
  }

  value(key: string): string {
    const q = this.text[this.pos];
    if (q === '"' || q === "'") {
      const close = this.text.indexOf(q, this.pos + 1);
      if (close < 0) this.fail("unterminated quote");
      const inner = this.text.slice(this.pos + 1, close);
      this.pos = close + 1;
      return inner;
    }
    return this.match(VALUE) || this.fail(`expected a value after '${key}='`);
  }

  keyValue(node: NodeQuery, key: string, exact: boolean, propagate: boolean): void {
    const at = this.pos;
    const value = this.value(key);
    switch (key) {
      case "arch":
      case "architecture": {
        const parts = value.split("-");
        if (parts.length !== 3) this.fail("expected arch=platform-os-target", at);
        const [platform, os, target] = parts.map((p) => p === "None" ? "" : p);
        if (platform) node.platform.push(platform);
        if (os) node.os.push(os);
        if (target) node.target.push(this.targets(target, at));
        return;
      }
      case "platform":
        node.platform.push(value);
        return;
      case "os":
      case "operating_system":
        node.os.push(value);
        return;
      case "target":
        node.target.push(this.targets(value, at));
        return;
      case "namespace":
        node.namespace = value;
        return;
    }
    const values = FLAG_NAMES.has(key) ? value.split(/\s+/).filter(Boolean) : value.split(",");
    const variant: VariantQuery = { name: key, values, exact, propagate };
    node.variants.push(variant);
  }

  /** A target list (`zen2,skylake`); ranges need microarchitecture data Spackle does not carry. */
  targets(value: string, at: number): string[] {
    if (value.includes(":")) this.fail("target ranges are not supported (name the target)", at);
    return value.split(",");
  }
}

/** Parses one spec query; see `parseSpecQuery` in `query.ts`. */
export function parseQuery(text: string): SpecQuery {
  return new Parser(text).query();
}
