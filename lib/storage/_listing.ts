// Reading the HTML directory listings web servers generate (Python `http.server`, nginx
// `autoindex`, Apache `mod_autoindex`): each child is an `<a href>` relative to the directory.

import { decodeCharacterReferences } from "./_xml.ts";

/** The direct children an HTML directory listing links to. */
export interface ListingEntries {
  /** Decoded names of files. */
  readonly files: string[];
  /** Decoded names of subdirectories (links ending in `/`), without the slash. */
  readonly dirs: string[];
}

const ANCHOR_HREF = /<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;

/**
 * The children of directory `dirUrl` (ending in `/`) that `html` links to. Links that leave the
 * directory (parent, siblings, other hosts), carry a query (Apache's sort links) or name the
 * directory itself are ignored, as are names that cannot be object key segments.
 */
export function parseDirectoryListing(html: string, dirUrl: URL): ListingEntries {
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const m of html.matchAll(ANCHOR_HREF)) {
    let target: URL;
    try {
      target = new URL(decodeCharacterReferences(m[1] ?? m[2] ?? m[3]), dirUrl);
    } catch {
      continue;
    }
    if (target.origin !== dirUrl.origin || target.search) continue;
    if (!target.pathname.startsWith(dirUrl.pathname)) continue;
    const rest = target.pathname.slice(dirUrl.pathname.length);
    const isDir = rest.endsWith("/");
    const segment = isDir ? rest.slice(0, -1) : rest;
    if (segment === "" || segment.includes("/")) continue;
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      continue;
    }
    if (name === "." || name === ".." || name.includes("/")) continue;
    (isDir ? dirs : files).add(name);
  }
  return { files: [...files], dirs: [...dirs] };
}
