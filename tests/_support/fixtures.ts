/** Paths of the shared read-only fixtures (Spack-made caches) used across the tests. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Root of the fixtures copied into the repository (`tests/fixtures`, provenance in its README). */
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
/** Spack 1.2 fixture caches and MANIFEST.md. */
export const SPACK12 = join(FIXTURES, "spack-1.2");
/** Data files from Spack's and Stackinator's test suites. */
export const TESTDATA = join(FIXTURES, "spack-testdata");
/** Spack's legacy v2 mirrors (signed and unsigned). */
export const V2_MIRRORS = join(TESTDATA, "lib/spack/spack/test/data/mirrors/v2_layout");

/** DAG hashes of the two harness packages in the Spack 1.2 fixtures. */
export const HARNESS = {
  hello: "hkbpthod3rj3wdmbruquumixalrd6svw",
  libdep: "6zoocyjnti5ypmuqeet2sz6f2lxnfsxn",
  glibc: "ulch6pgsad5orx667rb5m3w2u2po6ycs",
} as const;

/** Copies a fixture directory into a fresh temp dir (tests never modify shared fixtures). */
export async function copyFixture(dir: string): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: "spackle-fixture-" });
  const cmd = new Deno.Command("cp", { args: ["-a", `${dir}/.`, tmp] });
  const { success } = await cmd.output();
  if (!success) throw new Error(`cp -a ${dir} failed`);
  return tmp;
}
