/**
 * Byte-preserving edits of a YAML file: changes are spliced into the original text at the
 * source ranges of the parsed nodes, so everything outside the edited values (comments, key
 * order, quoting, blank lines, indentation) stays exactly as the user wrote it. New values are
 * rendered in block style, as Spack writes them.
 */
import { Document, isMap, isScalar, type Node, type Pair, Scalar, YAMLMap } from "yaml";

/** Strings YAML 1.1 readers (PyYAML, older ruamel) take as booleans or null: always quoted. */
const YAML11_SPECIAL =
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL)$/;

/** A plain value to render: strings, booleans, null, and ordered `Map`s of them. */
export type PlainValue = string | boolean | null | Map<string, PlainValue>;

function toNode(value: PlainValue): Node {
  if (value instanceof Map) {
    const map = new YAMLMap();
    for (const [k, v] of value) map.add({ key: toNode(k), value: toNode(v) } as Pair);
    return map;
  }
  const scalar = new Scalar(value);
  if (typeof value === "string" && YAML11_SPECIAL.test(value)) scalar.type = Scalar.QUOTE_SINGLE;
  return scalar;
}

function render(value: PlainValue, step: number): string {
  return new Document(toNode(value)).toString({
    indent: step,
    lineWidth: 0,
    singleQuote: true,
    flowCollectionPadding: false,
  });
}

/** `value` rendered in block style, every non-empty line indented by `column` spaces. */
export function renderBlock(value: Map<string, PlainValue>, column: number, step: number): string {
  const pad = " ".repeat(column);
  return render(value, step).split("\n").map((l) => l ? pad + l : l).join("\n");
}

/** A scalar rendered inline (quoted when needed). */
export function renderScalar(value: string | boolean | null): string {
  return render(value, 2).trimEnd();
}

/** A mapping rendered inline in flow style, for values the user wrote in flow style. */
export function renderFlow(value: Map<string, PlainValue>): string {
  const node = toNode(value) as YAMLMap;
  node.flow = true;
  return new Document(node).toString({
    lineWidth: 0,
    singleQuote: true,
    flowCollectionPadding: false,
  })
    .trimEnd();
}

/** The plain value of a parsed node: mappings as `Map`s keyed by the key text as parsed. */
export function plainOf(node: unknown): PlainValue {
  if (isMap(node)) {
    return new Map(node.items.map((p) => [keyOf(p), plainOf(p.value)]));
  }
  if (isScalar(node)) return node.value as string | boolean | null;
  return (node ?? null) as PlainValue;
}

/** A pair's key as parsed (with a trailing `:` for `key::`). */
export function keyOf(pair: Pair): string {
  return String(isScalar(pair.key) ? pair.key.value : pair.key);
}

/** Deep equality of plain values (mapping key order ignored, as Python's `dict ==`). */
export function plainEqual(a: PlainValue, b: PlainValue): boolean {
  if (a instanceof Map && b instanceof Map) {
    return a.size === b.size && [...a].every(([k, v]) => b.has(k) && plainEqual(v, b.get(k)!));
  }
  return a === b;
}

/** Collects splices of one text and applies them together. */
export class TextEditor {
  readonly #edits: { start: number; end: number; insert: string }[] = [];

  /** Wraps the original `text`; node ranges refer to it. */
  constructor(readonly text: string) {}

  /** Replaces `[start, end)` of the original text by `insert`. */
  replace(start: number, end: number, insert: string): void {
    this.#edits.push({ start, end, insert });
  }

  /** The text with every splice applied. */
  result(): string {
    let out = this.text;
    for (const e of [...this.#edits].sort((a, b) => b.start - a.start)) {
      out = out.slice(0, e.start) + e.insert + out.slice(e.end);
    }
    return out;
  }

  /** Offset of the start of the line holding `pos`. */
  lineStart(pos: number): number {
    return this.text.lastIndexOf("\n", pos - 1) + 1;
  }

  /**
   * Start of the comment lines directly above the line of `pos` (same column, no blank line
   * between): where a new entry goes so that it does not separate a key from its comments.
   */
  commentsAbove(pos: number): number {
    const column = this.column(pos);
    let start = this.lineStart(pos);
    while (start > 0) {
      const above = this.lineStart(start - 1);
      const line = this.text.slice(above, start - 1);
      if (!line.startsWith(" ".repeat(column) + "#")) break;
      start = above;
    }
    return start;
  }

  /** Column of `pos` on its line. */
  column(pos: number): number {
    return pos - this.lineStart(pos);
  }

  /** Offset just past the line holding `pos` (after its newline, or the end of the text). */
  lineEnd(pos: number): number {
    const nl = this.text.indexOf("\n", pos);
    return nl < 0 ? this.text.length : nl + 1;
  }

  /** End of the last line of `node`'s content, a comment on that line included. */
  contentEnd(node: Node): number {
    const end = node.range![1];
    return end > 0 && this.text[end - 1] === "\n" ? end : this.lineEnd(end);
  }

  /** Offset just past the `:` that follows `pair`'s key. */
  colonEnd(pair: Pair): number {
    return this.text.indexOf(":", (pair.key as Node).range![1]) + 1;
  }

  /** What follows `node`'s content on its last line (a same-line comment), without newline. */
  tail(node: Node): string {
    return this.text.slice(node.range![1], this.contentEnd(node)).replace(/\n$/, "");
  }

  /**
   * Replaces the value of `pair` by the block mapping `value`: the key line keeps any comment it
   * had, the mapping follows on the next lines, indented one `step` more than the key.
   */
  setBlockValue(pair: Pair, value: Map<string, PlainValue>, step: number): void {
    const node = pair.value as Node;
    const end = this.contentEnd(node);
    const block = renderBlock(value, this.column((pair.key as Node).range![0]) + step, step);
    const body = this.text[end - 1] === "\n" ? block : block.replace(/\n$/, "");
    this.replace(this.colonEnd(pair), end, `${this.tail(node)}\n${body}`);
  }

  /** Replaces a scalar by another (an empty `key:` gets a space before the value). */
  setScalar(node: Node, value: string | boolean | null): void {
    const [start, end] = node.range!;
    const space = start === end && this.text[start - 1] === ":" ? " " : "";
    this.replace(start, end, space + renderScalar(value));
  }

  /** Appends `pairs` after the last entry of the block mapping `map`, at its key column. */
  appendPairs(map: YAMLMap, pairs: Map<string, PlainValue>, step: number): void {
    const first = map.items[0].key as Node;
    const at = this.contentEnd(map);
    const newline = at > 0 && this.text[at - 1] !== "\n" ? "\n" : "";
    const block = renderBlock(pairs, this.column(first.range![0]), step);
    this.replace(at, at, newline + (newline ? block.replace(/\n$/, "") : block));
  }
}
