/**
 * Spack's versions and version constraints: parsing, ordering and `satisfies`, as `spack find`
 * and the spec syntax (`@1.2`, `@1.2:1.4`, `@=1.2.3`, `@1.2,1.5`) use them.
 *
 * Ordering (Spack's `StandardVersion`): a version is split into numeric and alphabetic
 * components (separators `.`, `-`, `_` only separate). Numbers compare numerically, words
 * lexically; a word ranks below any number, except the "infinity" words
 * (`stable` < `nightly` < `trunk` < `head` < `master` < `main` < `develop`), which rank above
 * every number. A trailing `alpha`/`beta`/`rc` (optionally numbered) marks a pre-release, which
 * ranks below the release (`1.2rc1` < `1.2`). When one version is a prefix of the other the
 * shorter ranks lower (`1.2` < `1.2.0`).
 *
 * Constraints: `@=1.2` is that exact version; `@1.2` is the range `1.2:1.2`; a range's upper
 * bound includes every version it is a prefix of (`@:1.4` includes `1.4.7`), the lower bound is
 * plain ordering; a list (`@1.2,1.5`) is satisfied by any of its members. (Spack stores `:1.4` as
 * the open range up to `1.5`, which also admits `1.5rc1`; here pre-releases of the next version
 * stay outside, as the documented meaning of the bound says.)
 *
 * @module
 */
import { SpecSyntaxError } from "./errors.ts";

/** A numeric (`bigint`, so 8-digit dates and long numbers stay exact) or alphabetic component. */
export type VersionComponent = bigint | string;

/** A parsed version. Build one with {@link parseVersion}. */
export interface Version {
  /** The text it was parsed from (a git version's full `git.ref=1.2` form included). */
  readonly text: string;
  /** Release components, e.g. `[1n, 2n, 3n]` for `1.2.3`. */
  readonly release: readonly VersionComponent[];
  /** Pre-release rank: `[0, n]` alpha, `[1, n]` beta, `[2, n]` rc, `[3]` a final release. */
  readonly prerelease: readonly number[];
  /** For a git version (`git.<branch>=1.2` or `<40-hex sha>=1.2`), the part before `=`. */
  readonly ref?: string;
}

/** One alternative of a version constraint. */
export type VersionClause =
  /** `@=1.2`: exactly this version. */
  | { readonly kind: "exact"; readonly version: Version }
  /** `@1.2:1.4`, `@1.2:`, `@:1.4`, `@:`, and `@1.2` (the range `1.2:1.2`). */
  | { readonly kind: "range"; readonly lo?: Version; readonly hi?: Version };

/** A version constraint: satisfied when any of its clauses is (`@1.2,1.5` has two). */
export type VersionConstraint = readonly VersionClause[];

const INFINITY_WORDS = ["stable", "nightly", "trunk", "head", "master", "main", "develop"];
const PRERELEASE: Record<string, number> = { alpha: 0, beta: 1, rc: 2 };
const FINAL = 3;
const VERSION_TEXT = /^[A-Za-z0-9_.-]+$/;
const GIT_REF = /^(git\..+|[0-9a-fA-F]{40})$/;

/**
 * Parses a concrete version (`1.2.3`, `2.1-beta`, `develop`, `1.2rc1`, `git.main=1.2`). A
 * leading `=` (as old spec files store versions) is ignored.
 *
 * @throws {SpecSyntaxError} when `text` is empty or has characters Spack does not allow.
 * @example
 * ```ts
 * import { parseVersion } from "@spackle/spackle/spec";
 * parseVersion("1.2rc1").prerelease; // [2, 1]
 * ```
 */
export function parseVersion(text: string): Version {
  const plain = text.startsWith("=") ? text.slice(1) : text;
  const eq = plain.indexOf("=");
  if (eq > 0 && GIT_REF.test(plain.slice(0, eq))) {
    return { ...standard(plain.slice(eq + 1), text, eq + 2), text: plain, ref: plain.slice(0, eq) };
  }
  return standard(plain, text, text.length - plain.length + 1);
}

function standard(body: string, whole: string, column: number): Version {
  if (!VERSION_TEXT.test(body)) {
    throw new SpecSyntaxError(whole, column, `invalid version ${JSON.stringify(body)}`);
  }
  const parts: VersionComponent[] = [];
  for (const m of body.matchAll(/[0-9]+|[A-Za-z]+/g)) {
    parts.push(/[0-9]/.test(m[0][0]) ? BigInt(m[0]) : m[0]);
  }
  let prerelease: number[] = [FINAL];
  const last = parts.at(-1), beforeLast = parts.at(-2);
  if (parts.length >= 3 && typeof last === "bigint" && isPrerelease(beforeLast)) {
    prerelease = [PRERELEASE[beforeLast as string], Number(last)];
    parts.splice(-2);
  } else if (parts.length >= 2 && isPrerelease(last)) {
    prerelease = [PRERELEASE[last as string]];
    parts.splice(-1);
  }
  return { text: body, release: parts, prerelease };
}

function isPrerelease(c: VersionComponent | undefined): boolean {
  return typeof c === "string" && c in PRERELEASE;
}

function compareComponents(a: VersionComponent, b: VersionComponent): number {
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  const ia = typeof a === "string" ? INFINITY_WORDS.indexOf(a) : -1;
  const ib = typeof b === "string" ? INFINITY_WORDS.indexOf(b) : -1;
  if (ia >= 0 || ib >= 0) return Math.sign(ia - ib) || 0;
  // Neither is an infinity word: a word ranks below a number, words compare lexically.
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return typeof a === "string" ? -1 : 1;
}

function compareSequences<T>(
  a: readonly T[],
  b: readonly T[],
  cmp: (x: T, y: T) => number,
): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = cmp(a[i], b[i]);
    if (c !== 0) return c;
  }
  return Math.sign(a.length - b.length);
}

/**
 * Spack's version order: negative when `a` ranks below `b`, 0 when equal (separators do not
 * count: `1.2.3` equals `1-2-3`), positive when above. Git versions compare by the version after
 * their `=`.
 *
 * @throws {SpecSyntaxError} when a string argument is not a valid version.
 * @example
 * ```ts
 * import { compareVersions } from "@spackle/spackle/spec";
 * ["1.10", "1.9", "develop", "1.2rc1"].sort(compareVersions); // ["1.2rc1", "1.9", "1.10", "develop"]
 * ```
 */
export function compareVersions(a: string | Version, b: string | Version): number {
  const va = typeof a === "string" ? parseVersion(a) : a;
  const vb = typeof b === "string" ? parseVersion(b) : b;
  return compareSequences(va.release, vb.release, compareComponents) ||
    compareSequences(va.prerelease, vb.prerelease, (x, y) => Math.sign(x - y));
}

/** True when `bound` is a final release whose components begin `v`'s (`1.4` for `1.4.7`). */
function isPrefixOf(bound: Version, v: Version): boolean {
  return bound.prerelease[0] === FINAL && bound.release.length <= v.release.length &&
    bound.release.every((c, i) => compareComponents(c, v.release[i]) === 0);
}

function clauseSatisfied(v: Version, clause: VersionClause): boolean {
  if (clause.kind === "exact") {
    const want = clause.version;
    if (want.ref !== undefined || v.ref !== undefined) return want.text === v.text;
    return compareVersions(v, want) === 0;
  }
  if (clause.lo && compareVersions(v, clause.lo) < 0) return false;
  return !clause.hi || compareVersions(v, clause.hi) <= 0 || isPrefixOf(clause.hi, v);
}

/**
 * True when the concrete `version` satisfies `constraint` (a parsed constraint or the text after
 * `@`, e.g. `"1.2:1.4,2.0"`).
 *
 * @throws {SpecSyntaxError} when a string argument does not parse.
 * @example
 * ```ts
 * import { versionSatisfies } from "@spackle/spackle/spec";
 * versionSatisfies("1.4.2", "1.2:1.4"); // true: the bound 1.4 covers 1.4.x
 * versionSatisfies("1.2.3", "=1.2"); // false
 * ```
 */
export function versionSatisfies(
  version: string | Version,
  constraint: string | VersionConstraint,
): boolean {
  const v = typeof version === "string" ? parseVersion(version) : version;
  const c = typeof constraint === "string" ? parseVersionConstraint(constraint) : constraint;
  return c.some((clause) => clauseSatisfied(v, clause));
}

/**
 * Parses a whole version constraint, the text after `@` in a spec (`1.2`, `=1.2.3`, `1.2:1.4`,
 * `1.2:`, `:1.4`, `1.2,1.5`; whitespace around commas allowed).
 *
 * @throws {SpecSyntaxError} with the column of the first character that does not fit.
 * @example
 * ```ts
 * import { parseVersionConstraint } from "@spackle/spackle/spec";
 * parseVersionConstraint("1.2:1.4,=2.0").length; // 2
 * ```
 */
export function parseVersionConstraint(text: string): VersionConstraint {
  const { constraint, end } = scanVersionConstraint(text, 0);
  if (end < text.length) {
    throw new SpecSyntaxError(text, end + 1, `unexpected ${JSON.stringify(text[end])}`);
  }
  return constraint;
}

/**
 * Scans the version constraint that starts at index `start` of `text` (a spec string, say) and
 * returns it with the index where it ends. Errors carry columns in `text`.
 *
 * @throws {SpecSyntaxError} when no valid constraint starts at `start`.
 * @example
 * ```ts
 * import { scanVersionConstraint } from "@spackle/spackle/spec";
 * scanVersionConstraint("zlib@1.2: +shared", 5).end; // 9
 * ```
 */
export function scanVersionConstraint(
  text: string,
  start: number,
): { constraint: VersionConstraint; end: number } {
  const clauses: VersionClause[] = [];
  let pos = start;
  const word = (): string => {
    const m = /^[A-Za-z0-9_][A-Za-z0-9_.-]*/.exec(text.slice(pos));
    pos += m ? m[0].length : 0;
    return m ? m[0] : "";
  };
  const version = (body: string, at: number): Version => {
    try {
      return parseVersion(body);
    } catch {
      throw new SpecSyntaxError(text, at + 1, `invalid version ${JSON.stringify(body)}`);
    }
  };
  const expected = () => new SpecSyntaxError(text, pos + 1, "expected a version");
  for (;;) {
    const at = pos;
    if (text[pos] === "=") {
      pos++;
      const body = word();
      if (!body) throw expected();
      if (text[pos] === "=" && GIT_REF.test(body)) {
        pos++;
        if (!word()) throw expected();
      }
      clauses.push({ kind: "exact", version: version(text.slice(at + 1, pos), at + 1) });
    } else {
      const lo = word();
      if (text[pos] === ":") {
        pos++;
        const hiAt = pos;
        const hi = word();
        clauses.push(
          range(lo ? version(lo, at) : undefined, hi ? version(hi, hiAt) : undefined, at),
        );
      } else if (text[pos] === "=" && text[pos + 1] !== "=" && GIT_REF.test(lo)) {
        pos++;
        if (!word()) throw expected();
        clauses.push({ kind: "exact", version: version(text.slice(at, pos), at) });
      } else if (lo) {
        const v = version(lo, at);
        clauses.push({ kind: "range", lo: v, hi: v });
      } else {
        throw expected();
      }
    }
    const comma = /^\s*,\s*/.exec(text.slice(pos));
    if (!comma) return { constraint: clauses, end: pos };
    pos += comma[0].length;
  }

  function range(lo: Version | undefined, hi: Version | undefined, at: number): VersionClause {
    if (lo && hi && compareVersions(lo, hi) > 0 && !isPrefixOf(hi, lo)) {
      throw new SpecSyntaxError(text, at + 1, `empty version range ${lo.text}:${hi.text}`);
    }
    return { kind: "range", lo, hi };
  }
}
