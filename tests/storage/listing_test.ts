import assert from "node:assert/strict";
import { parseDirectoryListing } from "../../lib/storage/_listing.ts";

const DIR = new URL("http://cache.example/mirror/v3/manifests/spec/");

function sorted(entries: { files: string[]; dirs: string[] }) {
  return { files: [...entries.files].sort(), dirs: [...entries.dirs].sort() };
}

Deno.test("parses an nginx autoindex page: skips the parent link, keeps files and subdirectories", () => {
  const html = `<html>
<head><title>Index of /mirror/v3/manifests/spec/</title></head>
<body>
<h1>Index of /mirror/v3/manifests/spec/</h1><hr><pre><a href="../">../</a>
<a href="harness-hello/">harness-hello/</a>                                      01-Jan-2025 00:00       -
<a href="zlib%2Bng/">zlib+ng/</a>                                            01-Jan-2025 00:00       -
<a href="notes%20(draft).txt">notes (draft).txt</a>                          01-Jan-2025 00:00     120
</pre><hr></body>
</html>`;
  assert.deepEqual(sorted(parseDirectoryListing(html, DIR)), {
    files: ["notes (draft).txt"],
    dirs: ["harness-hello", "zlib+ng"],
  });
});

Deno.test("parses an Apache mod_autoindex page: skips sort links, the parent and icon duplicates", () => {
  const html = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of /mirror/v3/manifests/spec</title></head><body>
<h1>Index of /mirror/v3/manifests/spec</h1>
<table>
<tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>
<tr><td><a href="/mirror/v3/manifests/"><img src="/icons/back.gif" alt="[PARENTDIR]"></a></td><td><a href="/mirror/v3/manifests/">Parent Directory</a></td></tr>
<tr><td><a href="harness-libdep/"><img src="/icons/folder.gif" alt="[DIR]"></a></td><td><a href="harness-libdep/">harness-libdep/</a></td></tr>
<tr><td><a href="a&amp;b.json"><img src="/icons/text.gif" alt="[TXT]"></a></td><td><a href='a&amp;b.json'>a&amp;b.json</a></td></tr>
</table></body></html>`;
  assert.deepEqual(sorted(parseDirectoryListing(html, DIR)), {
    files: ["a&b.json"],
    dirs: ["harness-libdep"],
  });
});

Deno.test("ignores links that leave the directory or name it, and undecodable names", () => {
  const html = [
    `<a href="http://other.example/mirror/v3/manifests/spec/x.json">elsewhere</a>`,
    `<a href="/mirror/v3/manifests/spec/">self</a>`,
    `<a href="./">self</a>`,
    `<a href="sub/deeper/file.json">two levels down</a>`,
    `<a href="../spec/">via parent</a>`,
    `<a href="bad%ZZname">bad escape</a>`,
    `<a href="a%2Fb">encoded slash</a>`,
    `<a href="#top">fragment</a>`,
    `<A HREF=/mirror/v3/manifests/spec/kept.json>absolute path, unquoted</A>`,
  ].join("\n");
  assert.deepEqual(sorted(parseDirectoryListing(html, DIR)), { files: ["kept.json"], dirs: [] });
});
