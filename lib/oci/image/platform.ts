/**
 * Image platforms of specs: Spack targets mapped to Go's architecture names, which image
 * configs and image indexes use (build cache format reference §4.6).
 *
 * @module
 */
import { FormatError } from "../../errors.ts";
import { shortSpec, type SpecNode } from "../../spec/spec.ts";
import { PlatformMismatchError } from "./errors.ts";

/** An image platform: `architecture` (GOARCH, e.g. `amd64`) and `os` (e.g. `linux`). */
export interface ImagePlatform {
  /** GOARCH name: `amd64`, `arm64`, `ppc64le`, … */
  readonly architecture: string;
  /** Operating system: `linux` for everything Spack puts into images. */
  readonly os: string;
}

const X86_VENDORS = new Set(["GenuineIntel", "AuthenticAMD"]);
const ARM_VENDORS = new Set(["ARM", "Cavium", "Fujitsu", "Apple", "HiSilicon", "Nvidia", "Ampere"]);

/**
 * GOARCH of a node's target family (§4.6): `x86_64`→`amd64`, `aarch64`→`arm64`, other family
 * names unchanged; `""` for a node without target. A specific microarchitecture is serialised
 * as an object; its family is inferred from the vendor, since archspec's tables are not
 * available here.
 *
 * @example
 * ```ts
 * import { goArch } from "@spackle/spackle/oci";
 * goArch({ name: "zlib", hash: "x", arch: { platform: "linux", platform_os: "debian12", target: "x86_64" } }); // "amd64"
 * ```
 */
export function goArch(node: SpecNode): string {
  const target = node.arch?.target;
  let family: string;
  if (typeof target === "object" && target !== null) {
    const vendor = String(target.vendor ?? "");
    family = X86_VENDORS.has(vendor) ? "x86_64" : ARM_VENDORS.has(vendor) ? "aarch64" : target.name;
  } else {
    family = target ?? "";
  }
  if (/^x86_64(_v\d)?$/.test(family)) return "amd64";
  if (family === "aarch64") return "arm64";
  return family;
}

/**
 * `os/architecture`, the form registries and `docker --platform` use.
 *
 * @example
 * ```ts
 * import { formatPlatform } from "@spackle/spackle/oci";
 * formatPlatform({ os: "linux", architecture: "arm64" }); // "linux/arm64"
 * ```
 */
export function formatPlatform(platform: ImagePlatform): string {
  return `${platform.os}/${platform.architecture}`;
}

/**
 * The one platform `nodes` share: `linux` and the GOARCH of their targets. Nodes without an
 * architecture are not counted.
 *
 * @throws {PlatformMismatchError} when the nodes span several architectures or a non-Linux
 * platform (images run Linux programs).
 * @throws {FormatError} when no node records a target.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { formatPlatform, specsPlatform } from "@spackle/spackle/oci";
 * const specs = await (await openMirror("./cache")).listSpecs();
 * console.log(formatPlatform(specsPlatform(specs.map((spec) => spec.node)))); // "linux/amd64"
 * ```
 */
export function specsPlatform(nodes: readonly SpecNode[]): ImagePlatform {
  let found: { platform: ImagePlatform; node: SpecNode } | undefined;
  for (const node of nodes) {
    if (!node.arch) continue;
    const platform = { architecture: goArch(node), os: node.arch.platform };
    if (platform.os !== "linux") {
      throw new PlatformMismatchError(
        "linux",
        formatPlatform(platform),
        `${shortSpec(node)} is not built for Linux`,
      );
    }
    if (!found) found = { platform, node };
    else if (found.platform.architecture !== platform.architecture) {
      throw new PlatformMismatchError(
        formatPlatform(found.platform),
        formatPlatform(platform),
        `${shortSpec(found.node)} and ${shortSpec(node)} are built for different architectures`,
      );
    }
  }
  if (!found) {
    throw new FormatError(nodes.map(shortSpec).join(", "), "no spec records its architecture");
  }
  return found.platform;
}
