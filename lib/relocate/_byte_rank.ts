/**
 * How common each byte value is in the files relocation scans, as a rank from 0 (rarest) to 255
 * (most common). The matcher anchors its search on the rarest byte of a key's common prefix,
 * the heuristic memchr calls "rare bytes" (Spack relocation reference §3.3).
 *
 * Derived once from byte counts over 150 shared libraries of /usr/lib/x86_64-linux-gnu and
 * 3,000 headers, Python, Perl, pkg-config and CMake files, the two corpora weighted equally.
 * Only the order matters; a poor rank costs speed, never correctness.
 *
 * @module
 */

/** Rank of each byte value, indexed by the byte (0 = rarest). */
// deno-fmt-ignore
export const BYTE_RANK: Readonly<Uint8Array> = Uint8Array.of(
  255, 226, 205, 193, 197, 181, 170, 167, 210, 168, 239, 154, 159, 143, 213, 233,
  206, 118, 137, 56, 122, 110, 60, 49, 179, 46, 32, 30, 92, 36, 43, 186,
  254, 71, 116, 191, 214, 157, 84, 101, 232, 227, 223, 94, 212, 163, 176, 182,
  211, 209, 171, 150, 140, 184, 113, 102, 172, 189, 147, 178, 151, 153, 128, 52,
  175, 238, 200, 222, 221, 240, 188, 187, 249, 229, 108, 174, 237, 198, 224, 225,
  218, 91, 216, 245, 228, 192, 165, 109, 195, 158, 82, 144, 160, 156, 79, 253,
  127, 241, 185, 242, 236, 252, 235, 201, 217, 246, 78, 215, 231, 208, 247, 244,
  230, 89, 243, 250, 251, 220, 180, 173, 194, 203, 105, 115, 148, 120, 63, 74,
  166, 100, 45, 202, 190, 199, 124, 76, 131, 234, 13, 219, 106, 204, 80, 67,
  146, 9, 27, 24, 75, 29, 18, 21, 88, 16, 5, 4, 37, 11, 0, 8,
  98, 14, 7, 57, 33, 6, 12, 15, 90, 22, 17, 19, 35, 1, 3, 39,
  97, 10, 2, 20, 61, 23, 126, 69, 135, 72, 104, 44, 73, 48, 129, 86,
  196, 161, 125, 162, 139, 111, 132, 164, 114, 112, 65, 26, 50, 34, 53, 38,
  149, 83, 123, 66, 54, 51, 58, 41, 103, 42, 47, 81, 31, 25, 62, 134,
  138, 68, 87, 28, 70, 40, 77, 93, 207, 177, 85, 136, 121, 96, 95, 145,
  130, 55, 99, 119, 59, 64, 141, 117, 155, 107, 133, 142, 152, 169, 183, 248,
);
