import assert from "node:assert/strict";
import { SpecSyntaxError } from "../../lib/spec/errors.ts";
import {
  compareVersions,
  parseVersion,
  parseVersionConstraint,
  scanVersionConstraint,
  versionSatisfies,
} from "../../lib/spec/version.ts";

/** [a, b, sign of compareVersions(a, b)] by Spack's ordering. */
const ORDER: [string, string, number][] = [
  ["1.2", "1.10", -1],
  ["10", "9", 1],
  ["2013", "20130729", -1],
  ["1.2", "1.2.0", -1],
  ["1.2.3", "1-2-3", 0],
  ["1.2.3", "1_2_3", 0],
  ["0123", "123", 0],
  ["1.2a", "1.2.1", -1],
  ["1.2a", "1.2b", -1],
  ["1.1.1k", "1.1.1l", -1],
  ["1.2rc1", "1.2", -1],
  ["1.2alpha", "1.2beta", -1],
  ["1.2beta", "1.2rc1", -1],
  ["1.2rc1", "1.2rc2", -1],
  ["1.2rc1", "1.2.1", -1],
  ["1.2alpha2", "1.2alpha10", -1],
  ["develop", "99999", 1],
  ["develop", "main", 1],
  ["main", "master", 1],
  ["master", "head", 1],
  ["stable", "1000", 1],
  ["1.0", "develop", -1],
  ["1.2.develop", "1.2.99", 1],
  ["1.2.foo", "1.2.0", -1],
  ["3.1-20210216", "3.1", 1],
  ["git.main=1.2", "1.2", 0],
];

for (const [a, b, sign] of ORDER) {
  Deno.test(`compareVersions(${a}, ${b}) is ${sign}`, () => {
    assert.equal(Math.sign(compareVersions(a, b)), sign);
    assert.equal(Math.sign(compareVersions(b, a)), -sign || 0);
  });
}

Deno.test("versions sort in Spack's order", () => {
  const sorted = ["1.10", "develop", "1.9", "1.2rc1", "1.2", "main", "1.2.0", "1.2a"]
    .sort(compareVersions);
  assert.deepEqual(sorted, ["1.2rc1", "1.2", "1.2a", "1.2.0", "1.9", "1.10", "main", "develop"]);
});

Deno.test("a trailing alpha/beta/rc is a pre-release; a leading one is a word", () => {
  assert.deepEqual(parseVersion("1.2rc1"), {
    text: "1.2rc1",
    release: [1n, 2n],
    prerelease: [2, 1],
  });
  assert.deepEqual(parseVersion("2.0-beta"), {
    text: "2.0-beta",
    release: [2n, 0n],
    prerelease: [1],
  });
  assert.deepEqual(parseVersion("rc1"), { text: "rc1", release: ["rc", 1n], prerelease: [3] });
  assert.deepEqual(parseVersion("=1.2"), { text: "1.2", release: [1n, 2n], prerelease: [3] });
  assert.equal(parseVersion("git.main=1.2").ref, "git.main");
});

/** [concrete version, constraint, satisfied] */
const SATISFIES: [string, string, boolean][] = [
  ["1.2", "1.2", true],
  ["1.2.3", "1.2", true],
  ["1.20", "1.2", false],
  ["1.1", "1.2", false],
  ["1.2", "=1.2", true],
  ["1.2.3", "=1.2", false],
  ["1.2.3", "=1.2.3", true],
  ["1-2-3", "=1.2.3", true],
  ["1.4.2", "1.2:1.4", true],
  ["1.4", "1.2:1.4", true],
  ["1.5", "1.2:1.4", false],
  ["1.1.9", "1.2:1.4", false],
  ["1.2", "1.2:1.4", true],
  ["1.2.0", "1.2:", true],
  ["1.2rc1", "1.2:", false],
  ["1.2rc1", ":1.2", true],
  ["1.3rc1", ":1.2", false],
  ["1.0", ":1.4", true],
  ["develop", "1.2:", true],
  ["develop", ":1.4", false],
  ["develop", "develop", true],
  ["develop", "main", false],
  ["1.5", "1.2,1.5", true],
  ["1.3", "1.2,1.5", false],
  ["1.3.1", "1.2 , 1.3:1.4", true],
  ["42", ":", true],
  ["2.0", "=1.2,2:", true],
  ["1.4", "1.4.2:1.4", false],
  ["1.4.5", "1.4.2:1.4", true],
  ["20130729", "2013", false],
  ["20130729", "2013:", true],
  ["git.main=1.2", "1.2", true],
  ["git.main=1.2", "1.3:", false],
  ["git.main=1.2", "=git.main=1.2", true],
  ["1.2", "=git.main=1.2", false],
];

for (const [version, constraint, expected] of SATISFIES) {
  Deno.test(`${version} ${expected ? "satisfies" : "does not satisfy"} @${constraint}`, () => {
    assert.equal(versionSatisfies(version, constraint), expected);
    assert.equal(
      versionSatisfies(parseVersion(version), parseVersionConstraint(constraint)),
      expected,
    );
  });
}

/** [constraint text, 1-based column of the error] */
const BAD: [string, number][] = [
  ["", 1],
  ["1.2::", 5],
  ["2:1", 1],
  ["1.2,", 5],
  ["=", 2],
  ["1.2 1.3", 4],
  ["1.$", 3],
];

for (const [text, column] of BAD) {
  Deno.test(`version constraint ${JSON.stringify(text)} fails at column ${column}`, () => {
    assert.throws(
      () => parseVersionConstraint(text),
      (e) => e instanceof SpecSyntaxError && e.column === column,
    );
  });
}

Deno.test("parseVersion refuses characters Spack does not allow", () => {
  for (const bad of ["", "1.2$", " 1.2", "1.0+local", "1 2"]) {
    assert.throws(() => parseVersion(bad), SpecSyntaxError, bad);
  }
});

Deno.test("scanVersionConstraint stops where the constraint ends", () => {
  const { constraint, end } = scanVersionConstraint("zlib@1.2: +shared", 5);
  assert.equal(end, 9);
  assert.deepEqual(constraint.map((c) => c.kind), ["range"]);
});
