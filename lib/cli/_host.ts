// The host's platform and target family, and the family of a spec's target, for `list`'s
// default filter (Spack shows only specs this machine could run unless `--allarch`).

import { type SpecNode, targetName } from "../spec/spec.ts";

/** Target families by Deno's `build.arch`. */
const HOST_FAMILY: Record<string, string> = { x86_64: "x86_64", aarch64: "aarch64" };

/**
 * Microarchitecture names of each family that do not start with the family's own name
 * (archspec's names; `x86_64_v3`, `aarch64`… are recognised by prefix).
 */
const FAMILY_MEMBERS: Record<string, readonly string[]> = {
  x86_64: [
    "nocona",
    "core2",
    "nehalem",
    "westmere",
    "sandybridge",
    "ivybridge",
    "haswell",
    "broadwell",
    "skylake",
    "mic_knl",
    "skylake_avx512",
    "cannonlake",
    "cascadelake",
    "cooperlake",
    "icelake",
    "sapphirerapids",
    "alderlake",
    "meteorlake",
    "k10",
    "bulldozer",
    "piledriver",
    "steamroller",
    "excavator",
    "zen",
    "zen2",
    "zen3",
    "zen4",
    "zen5",
  ],
  aarch64: [
    "thunderx2",
    "a64fx",
    "cortex_a72",
    "graviton",
    "graviton2",
    "graviton3",
    "graviton4",
    "neoverse_n1",
    "neoverse_n2",
    "neoverse_v1",
    "neoverse_v2",
    "m1",
    "m2",
    "m3",
    "m4",
  ],
  ppc64le: ["power8le", "power9le", "power10le"],
};

/** The family of a target name (`haswell` → `x86_64`), or the name itself when unknown. */
export function targetFamily(target: string): string {
  for (const [family, members] of Object.entries(FAMILY_MEMBERS)) {
    if (target === family || target.startsWith(`${family}_`) || members.includes(target)) {
      return family;
    }
  }
  if (/^armv8/.test(target)) return "aarch64";
  return target;
}

/** This machine's Spack platform (`linux`, `darwin`, `windows`) and target family. */
export function hostArch(): { platform: string; family: string } {
  return { platform: Deno.build.os, family: HOST_FAMILY[Deno.build.arch] ?? Deno.build.arch };
}

/** True when `node` was built for `host`'s platform and a target of its family. */
export function runsOn(node: SpecNode, host: { platform: string; family: string }): boolean {
  return node.arch?.platform === host.platform && targetFamily(targetName(node)) === host.family;
}
