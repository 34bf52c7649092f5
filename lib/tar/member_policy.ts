/**
 * The member rules of an untrusted Spack package tarball, shared by everything that turns a
 * cache tarball into something else: extraction into an install prefix, image layers reused by
 * digest, squashed layers and copies into another cache. One validator, so a tarball that
 * `install` refuses is refused everywhere (Spack build cache format reference §2.3, §2.6).
 *
 * @module
 */
import { dirname } from "node:path";
import { UnsafeTarballError } from "../errors.ts";
import type { TarMember } from "./reader.ts";
import { escapesTree } from "./_symlink_scope.ts";

/** A tar member refused by {@link MemberPolicy}; `entry` names it, `reason` says why. */
export class UnsafeMemberError extends UnsafeTarballError {
  /** Creates the error for member `entry` of the tarball named by `source`. */
  constructor(source: string, entry: string, readonly reason: string) {
    super(source, entry, reason);
  }
}

/** Options of {@link MemberPolicy}. */
export interface MemberPolicyOptions {
  /**
   * The tarball is used unchanged (an image layer reused by digest, a copy into another cache),
   * so setuid and setgid bits cannot be stripped and are refused instead. Default false: they
   * are stripped from {@link CheckedMember.mode}, as extraction does.
   */
  readonly unchanged?: boolean;
}

/** A member that passed {@link MemberPolicy.check}. */
export interface CheckedMember {
  /** Name without `.` or empty components and without a trailing `/`, e.g. `opt/sw/zlib-1.3-abc/lib`. */
  readonly name: string;
  /** Kind of member (devices, FIFOs and sparse files are refused). */
  readonly type: "file" | "directory" | "symlink" | "hardlink";
  /** Permission bits to apply: `mode & 0o777` (no setuid, setgid or sticky bit). */
  readonly mode: number;
  /** Symlink target verbatim, hardlink target normalised like `name`, else `""`. */
  readonly linkname: string;
  /** Body size in bytes (0 for all but files). */
  readonly size: number;
}

const BUILDINFO = ".spack/binary_distribution";
const SETID_BITS = 0o6000;

/**
 * Checks the members of one package tarball, in archive order, then the package prefix rules
 * once all are seen. Stateful: one instance per tarball.
 *
 * {@link MemberPolicy.check}, per member: no absolute name, `..` component or NUL byte; no
 * device, FIFO, sparse or unknown member type; no duplicate member and none replacing an earlier
 * one (directories may repeat); nothing below an earlier symlink or file; a hardlink names an
 * earlier regular member; a symlink has a target; setuid/setgid refused when `unchanged`.
 *
 * {@link MemberPolicy.finish}, at the end (the buildinfo is the last member): the prefix is the
 * parent's parent of the shortest regular `…/.spack/binary_distribution`, and must be a
 * directory member; every member lies inside it or is a directory above it; hardlink targets lie
 * inside it; relative symlinks resolve inside it (following the tarball's other symlinks).
 * Absolute symlink targets are allowed: they write nothing by themselves, relocation rewrites
 * those into old prefixes, and in an image they resolve inside the container.
 *
 * @example
 * ```ts
 * import { MemberPolicy, TarReader } from "@spackle/spackle/tar";
 * const file = await Deno.open("zlib.tar");
 * const reader = new TarReader(file.readable, "zlib.tar");
 * const policy = new MemberPolicy("zlib.tar", { unchanged: true });
 * for (let member = await reader.next(); member; member = await reader.next()) {
 *   policy.check(member); // throws UnsafeMemberError naming the member
 * }
 * const prefix = policy.finish(); // "opt/sw/zlib-1.3-abc"
 * ```
 */
export class MemberPolicy {
  readonly #source: string;
  readonly #unchanged: boolean;
  readonly #members = new Map<string, CheckedMember>();
  /** Directories known to exist: members, or parents implied by a member's name. */
  readonly #directories = new Set<string>([""]);

  /** A policy for one tarball; `source` names it in errors. */
  constructor(source: string, options: MemberPolicyOptions = {}) {
    this.#source = source;
    this.#unchanged = options.unchanged ?? false;
  }

  /**
   * Checks the next member of the archive and records it.
   *
   * @returns the member normalised, with the mode to apply.
   * @throws {UnsafeMemberError} naming the member and the rule it breaks.
   */
  check(member: TarMember): CheckedMember {
    const name = this.#memberPath(member.name, member.name);
    if (member.type === "unsupported") {
      throw this.#refuse(name, `unsupported member type ${describeType(member.typeflag)}`);
    }
    if (this.#unchanged && (member.mode & SETID_BITS) !== 0) {
      throw this.#refuse(
        name,
        `has setuid/setgid bits (mode ${
          member.mode.toString(8)
        }), which cannot be stripped from a tarball used unchanged`,
      );
    }
    const checked: CheckedMember = {
      name,
      type: member.type,
      mode: member.mode & 0o777,
      linkname: member.type === "hardlink"
        ? this.#memberPath(member.linkname, name)
        : member.linkname,
      size: member.type === "file" ? member.size : 0,
    };
    const previous = this.#members.get(name);
    if (name === "" || previous !== undefined || this.#directories.has(name)) {
      // Only a directory may be repeated (or may name one implied as a parent).
      if (member.type !== "directory" || (previous && previous.type !== "directory")) {
        throw this.#refuse(name, "duplicate member or member replacing an earlier one");
      }
      if (name !== "") this.#members.set(name, checked);
      return checked;
    }
    this.#checkParents(name);
    if (member.type === "symlink" && (member.linkname === "" || member.linkname.includes("\0"))) {
      throw this.#refuse(name, "bad symlink target");
    }
    if (member.type === "hardlink" && this.#members.get(checked.linkname)?.type !== "file") {
      throw this.#refuse(
        name,
        `hardlink target ${checked.linkname} is not an earlier regular member`,
      );
    }
    if (member.type === "directory") this.#directories.add(name);
    this.#members.set(name, checked);
    return checked;
  }

  /**
   * Applies the package prefix rules to all members checked so far; call after the last one.
   *
   * @returns the package prefix without its leading `/`, e.g. `opt/sw/zlib-1.3-abc`.
   * @throws {UnsafeMemberError} for a member outside the prefix, a hardlink or relative symlink
   *   leaving it, no `binary_distribution` ("Tarball is not a Spack package…"), or no directory
   *   member equal to the prefix ("Tarball does not contain a common prefix").
   */
  finish(): string {
    const prefix = this.#packagePrefix();
    const inside = (name: string) => name === prefix || name.startsWith(`${prefix}/`);
    const relative = (name: string) => name === prefix ? "" : name.slice(prefix.length + 1);
    const symlinks = new Map<string, string>();
    for (const [name, member] of this.#members) {
      if (member.type === "symlink" && inside(name)) symlinks.set(relative(name), member.linkname);
    }
    for (const [name, member] of this.#members) {
      if (!inside(name)) {
        if (member.type === "directory" && prefix.startsWith(`${name}/`)) continue;
        throw this.#refuse(name, `outside of the package prefix ${prefix}`);
      }
      if (member.type === "hardlink" && !inside(member.linkname)) {
        throw this.#refuse(name, `hardlink target ${member.linkname} is outside of ${prefix}`);
      }
      if (
        member.type === "symlink" && !member.linkname.startsWith("/") &&
        escapesTree(relative(name), member.linkname, symlinks)
      ) {
        throw this.#refuse(name, `symlink target ${member.linkname} resolves outside of ${prefix}`);
      }
    }
    return prefix;
  }

  /** Parent's parent of the shortest regular `…/.spack/binary_distribution` member (§2.6). */
  #packagePrefix(): string {
    let buildinfo: string | undefined;
    for (const [name, member] of this.#members) {
      if (member.type !== "file" || !`/${name}`.endsWith(`/${BUILDINFO}`)) continue;
      if (buildinfo === undefined || name.length < buildinfo.length) buildinfo = name;
    }
    if (buildinfo === undefined) {
      throw this.#refuse(
        BUILDINFO,
        "Tarball is not a Spack package, missing binary_distribution file",
      );
    }
    const prefix = dirname(dirname(buildinfo));
    if (prefix === "." || this.#members.get(prefix)?.type !== "directory") {
      throw this.#refuse(prefix, "Tarball does not contain a common prefix");
    }
    return prefix;
  }

  /** Refuses a member below an earlier symlink or file; records missing parents as directories. */
  #checkParents(name: string): void {
    const parts = name.split("/");
    for (let depth = 1; depth < parts.length; depth++) {
      const parent = parts.slice(0, depth).join("/");
      if (this.#directories.has(parent)) continue;
      const type = this.#members.get(parent)?.type;
      if (type === "symlink") {
        throw this.#refuse(name, `would be written through symlink ${parent}`);
      }
      if (type !== undefined) throw this.#refuse(name, `parent ${parent} is not a directory`);
      this.#directories.add(parent);
    }
  }

  /**
   * Normalises a member name or hardlink target: drops `.` and empty components and a trailing
   * `/`, and refuses absolute names, `..` components and NUL bytes. `entry` names the member.
   */
  #memberPath(name: string, entry: string): string {
    if (name.startsWith("/") || name.includes("\0")) {
      throw this.#refuse(entry, `absolute or invalid path ${JSON.stringify(name)}`);
    }
    const parts = name.split("/").filter((part) => part !== "" && part !== ".");
    if (parts.includes("..")) {
      throw this.#refuse(entry, `path ${JSON.stringify(name)} has a ".." component`);
    }
    return parts.join("/");
  }

  #refuse(entry: string, reason: string): UnsafeMemberError {
    return new UnsafeMemberError(this.#source, entry, reason);
  }
}

function describeType(typeflag: string): string {
  const known: Record<string, string> = {
    "3": "character device",
    "4": "block device",
    "6": "FIFO",
    "S": "sparse file",
  };
  return `${JSON.stringify(typeflag)}${known[typeflag] ? ` (${known[typeflag]})` : ""}`;
}

/**
 * Refuses package prefixes that are equal or nested, for tarballs laid over one another (the
 * layers of one image). Each tarball's members lie inside its prefix or are directories above
 * it ({@link MemberPolicy.finish}), so with disjoint prefixes no member of one tarball can
 * replace, or be written through, a member of another.
 *
 * @param packages Each tarball's name (for errors) and prefix (absolute or not, as long as all
 *   are alike).
 * @throws {UnsafeMemberError} naming the later tarball and its prefix.
 *
 * @example
 * ```ts
 * import { assertDisjointPrefixes } from "@spackle/spackle/tar";
 * assertDisjointPrefixes([
 *   { source: "zlib", prefix: "/opt/sw/zlib-1.3-abc" },
 *   { source: "curl", prefix: "/opt/sw/curl-8.5-def" },
 * ]);
 * ```
 */
export function assertDisjointPrefixes(
  packages: readonly { readonly source: string; readonly prefix: string }[],
): void {
  for (const [i, later] of packages.entries()) {
    for (const earlier of packages.slice(0, i)) {
      const [a, b] = [earlier.prefix, later.prefix];
      if (a === b || b.startsWith(`${a}/`) || a.startsWith(`${b}/`)) {
        throw new UnsafeMemberError(
          later.source,
          b,
          `package prefix overlaps the prefix ${a} of ${earlier.source}`,
        );
      }
    }
  }
}
