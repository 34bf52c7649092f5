import assert from "node:assert/strict";
import {
  assertDisjointPrefixes,
  MemberPolicy,
  type TarMember,
  TarReader,
  UnsafeMemberError,
} from "../../lib/tar/mod.ts";
import { UnsafeTarballError } from "../../lib/errors.ts";
import { gunzipStream } from "../../lib/stream/gzip.ts";
import { fixtureTarballs } from "./_util.ts";

const P = "opt/sw/linux-x86_64/zlib-1.3-abc";
const TYPEFLAG = { file: "0", hardlink: "1", symlink: "2", directory: "5", unsupported: "3" };

function member(name: string, type: TarMember["type"], extra: Partial<TarMember> = {}): TarMember {
  return {
    name,
    type,
    linkname: "",
    size: 0,
    mode: type === "directory" || type === "symlink" ? 0o755 : 0o644,
    typeflag: TYPEFLAG[type],
    ...extra,
  };
}
const dir = (name: string) => member(name, "directory");
const file = (name: string, mode = 0o644) => member(name, "file", { mode, size: 1 });
const symlink = (name: string, linkname: string) => member(name, "symlink", { linkname });
const hardlink = (name: string, linkname: string) => member(name, "hardlink", { linkname });

/** A package in Spack's order around `body`: parents, prefix, body, `.spack`, buildinfo last. */
function pkg(body: TarMember[]): TarMember[] {
  return [
    dir("opt/"),
    dir("opt/sw/"),
    dir("opt/sw/linux-x86_64/"),
    dir(`${P}/`),
    ...body,
    dir(`${P}/.spack/`),
    file(`${P}/.spack/binary_distribution`),
  ];
}

function runPolicy(members: TarMember[], unchanged = false): string {
  const policy = new MemberPolicy("t.tar", { unchanged });
  for (const m of members) policy.check(m);
  return policy.finish();
}

Deno.test("MemberPolicy: a package in Spack's order passes; names are normalised, modes stripped", () => {
  const policy = new MemberPolicy("t.tar");
  const members = pkg([
    file(`${P}/bin/tool`, 0o6755),
    hardlink(`${P}/bin/tool2`, `./${P}/bin/tool`),
    symlink(`${P}/lib/libz.so`, "libz.so.1"),
    symlink(`${P}/etc/cert.pem`, "/etc/ssl/certs/ca-certificates.crt"),
  ]);
  const checked = members.map((m) => policy.check(m));
  assert.equal(policy.finish(), P);
  assert.equal(checked[3].name, P);
  assert.equal(checked[4].mode, 0o755, "setuid and setgid stripped");
  assert.equal(checked[5].linkname, `${P}/bin/tool`, "hardlink target normalised");
});

const REFUSED: [string, TarMember[], string, RegExp][] = [
  ["a file outside the prefix", pkg([file("etc/passwd")]), "etc/passwd", /outside of the package/],
  ["a ../ name", pkg([file(`${P}/../../x`)]), `${P}/../../x`, /"\.\."/],
  ["an absolute name", pkg([file(`/${P}/x`)]), `/${P}/x`, /absolute/],
  [
    "a character device",
    pkg([member(`${P}/null`, "unsupported", { typeflag: "3" })]),
    `${P}/null`,
    /character device/,
  ],
  [
    "a block device",
    pkg([member(`${P}/sda`, "unsupported", { typeflag: "4" })]),
    `${P}/sda`,
    /block device/,
  ],
  [
    "a hardlink to /etc/passwd",
    pkg([hardlink(`${P}/passwd`, "etc/passwd")]),
    `${P}/passwd`,
    /not an earlier regular member/,
  ],
  [
    "a hardlink to an absolute path",
    pkg([hardlink(`${P}/passwd`, "/etc/passwd")]),
    `${P}/passwd`,
    /absolute/,
  ],
  [
    "a hardlink to a member outside the prefix",
    [file("opt/sw/other"), ...pkg([hardlink(`${P}/other`, "opt/sw/other")])],
    "opt/sw/other",
    /outside of the package/,
  ],
  [
    "a relative symlink climbing out of the prefix",
    pkg([symlink(`${P}/etc`, "../../../../etc")]),
    `${P}/etc`,
    /resolves outside/,
  ],
  [
    "a chain of symlinks climbing out",
    pkg([symlink(`${P}/sub/a`, ".."), symlink(`${P}/sub/b`, "a/../..")]),
    `${P}/sub/b`,
    /resolves outside/,
  ],
  [
    "a write through a symlink to /etc",
    pkg([symlink(`${P}/conf`, "/etc"), file(`${P}/conf/passwd`)]),
    `${P}/conf/passwd`,
    /through symlink/,
  ],
  [
    "a prefix that is a symlink",
    [symlink(P, "/tmp"), dir(`${P}/.spack`), file(`${P}/.spack/binary_distribution`)],
    `${P}/.spack`,
    /through symlink/,
  ],
  [
    "a member replacing an earlier file",
    pkg([file(`${P}/x`), symlink(`${P}/x`, "/etc/passwd")]),
    `${P}/x`,
    /duplicate/,
  ],
  ["no buildinfo", [dir(`${P}/`), file(`${P}/x`)], ".spack/binary_distribution", /not a Spack/],
  [
    "no directory member for the prefix",
    [file(`${P}/.spack/binary_distribution`)],
    P,
    /common prefix/,
  ],
];

for (const [what, members, entry, reason] of REFUSED) {
  Deno.test(`MemberPolicy refuses ${what}, naming the member`, () => {
    assert.throws(
      () => runPolicy(members),
      (e) =>
        e instanceof UnsafeMemberError && e instanceof UnsafeTarballError &&
        e.entry === entry.replace(/\/$/, "") && reason.test(e.reason) &&
        e.message.includes(JSON.stringify(entry)),
    );
  });
}

Deno.test("MemberPolicy: setuid and setgid bits are refused in a tarball used unchanged", () => {
  for (const mode of [0o4755, 0o2755]) {
    assert.throws(
      () => runPolicy(pkg([file(`${P}/bin/su`, mode)]), true),
      (e) =>
        e instanceof UnsafeMemberError && e.entry === `${P}/bin/su` &&
        /setuid\/setgid.*cannot be stripped/.test(e.message),
    );
  }
  assert.equal(runPolicy(pkg([file(`${P}/bin/tool`, 0o1755)]), true), P, "sticky is harmless");
});

Deno.test("MemberPolicy: every package tarball of the Spack fixtures passes unchanged", async () => {
  for (const fixture of await fixtureTarballs()) {
    const reader = new TarReader(
      (await Deno.open(fixture.blob)).readable.pipeThrough(gunzipStream()),
      fixture.name,
    );
    const policy = new MemberPolicy(fixture.name, { unchanged: true });
    for (let m = await reader.next(); m; m = await reader.next()) policy.check(m);
    assert.equal(`/${policy.finish()}`, fixture.prefix);
  }
});

Deno.test("assertDisjointPrefixes: sibling prefixes pass; equal or nested ones are refused, naming the later", () => {
  const zlib = { source: "zlib", prefix: "/opt/sw/zlib-1.3-abc" };
  assertDisjointPrefixes([zlib, { source: "zlib-ng", prefix: "/opt/sw/zlib-1.3-abc-ng" }]);
  for (const prefix of [zlib.prefix, `${zlib.prefix}/lib/x`, "/opt/sw"]) {
    assert.throws(
      () => assertDisjointPrefixes([zlib, { source: "evil", prefix }]),
      (e) => e instanceof UnsafeMemberError && e.entry === prefix && /^evil:/.test(e.message),
    );
  }
});
