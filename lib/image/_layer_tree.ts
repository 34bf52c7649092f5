// The file tree an image's added layers make, from the members of their tarballs: to tell which
// directories exist (for the run environment) and to plan a view of the packages without
// unpacking anything. Paths the layers do not hold (the base image's files) are unknown.

import type { LayerMember } from "../oci/image/tarball.ts";
import type { ResolvedPath, ViewTree, ViewTreeEntry } from "../view/tree.ts";

// Symlinks followed in one resolution before giving up (Linux's MAXSYMLINKS).
const MAX_SYMLINKS = 40;

interface Node {
  readonly type: LayerMember["type"];
  readonly linkname: string;
}

/** The union of layers' members, later layers over earlier ones, as a {@link ViewTree}. */
export class LayerTree implements ViewTree {
  readonly #nodes = new Map<string, Node>([["/", { type: "directory", linkname: "" }]]);
  readonly #children = new Map<string, Set<string>>();

  /** Adds one layer's members (names relative to `/`); missing parents become directories. */
  add(members: readonly LayerMember[]): void {
    for (const m of members) {
      const parts = m.name.split("/").filter((p) => p !== "");
      let path = "/";
      for (const [i, part] of parts.entries()) {
        const child = path === "/" ? `/${part}` : `${path}/${part}`;
        let names = this.#children.get(path);
        if (!names) this.#children.set(path, names = new Set());
        names.add(part);
        const last = i === parts.length - 1;
        if (last) this.#nodes.set(child, { type: m.type, linkname: m.linkname });
        else if (!this.#nodes.has(child)) {
          this.#nodes.set(child, { type: "directory", linkname: "" });
        }
        path = child;
      }
    }
  }

  /** Whether `path` is a directory, following symlinks. */
  isDirectory(path: string): boolean {
    const real = this.#resolve(path);
    return real !== undefined && this.#nodes.get(real)?.type === "directory";
  }

  readDir(path: string): Promise<ViewTreeEntry[]> {
    const real = this.#resolve(path);
    const names = real === undefined ? undefined : this.#children.get(real);
    if (real === undefined || this.#nodes.get(real)?.type !== "directory") {
      return Promise.reject(new Deno.errors.NotFound(`not a directory in the layers: ${path}`));
    }
    return Promise.resolve([...names ?? []].map((name) => {
      const type = this.#nodes.get(real === "/" ? `/${name}` : `${real}/${name}`)!.type;
      return { name, isDirectory: type === "directory", isSymlink: type === "symlink" };
    }));
  }

  exists(path: string): Promise<boolean> {
    const parent = this.#resolve(path.slice(0, path.lastIndexOf("/")) || "/");
    const name = path.slice(path.lastIndexOf("/") + 1);
    if (parent === undefined) return Promise.resolve(false);
    return Promise.resolve(this.#nodes.has(parent === "/" ? `/${name}` : `${parent}/${name}`));
  }

  resolve(path: string): Promise<ResolvedPath | undefined> {
    const real = this.#resolve(path);
    if (real === undefined) return Promise.resolve(undefined);
    const node = this.#nodes.get(real)!;
    // A hard link is the file it names (member names are relative to `/`).
    const identity = node.type === "hardlink" ? `/${node.linkname}` : real;
    return Promise.resolve({ realPath: real, isDirectory: node.type === "directory", identity });
  }

  /** `path` with every symlink followed, or undefined when it leaves what the layers hold. */
  #resolve(path: string): string | undefined {
    let parts = path.split("/");
    let current = "";
    for (let hops = 0; parts.length > 0;) {
      const part = parts.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        current = current.slice(0, current.lastIndexOf("/"));
        continue;
      }
      const next = `${current}/${part}`;
      const node = this.#nodes.get(next);
      if (!node) return undefined;
      if (node.type === "symlink") {
        if (++hops > MAX_SYMLINKS) return undefined;
        parts = [...node.linkname.split("/"), ...parts];
        if (node.linkname.startsWith("/")) current = "";
        continue;
      }
      if (node.type !== "directory" && parts.some((p) => p !== "" && p !== ".")) return undefined;
      current = next;
    }
    return current || "/";
  }
}
