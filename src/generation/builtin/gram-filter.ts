/**
 * @module A one-sided test for "does this text contain that needle?" over a large fixed text: a
 * bitmap of the text's 5-character windows, hashed. A needle with a window the bitmap lacks is
 * certainly absent; otherwise the caller searches the text itself. No false "absent", ever.
 *
 * Why: the built-in engine asks whether each literal token of the exploit requests occurs in the
 * benign corpus, joined per component (2.6 MB of bodies, 1.5 MB of header values). Most tokens do not
 * (170 of 238 asks over the 103 bundled CVEs), and `includes` finds that out only by scanning the
 * whole text: 0.52–0.56 ms an ask, 12% of a queue worker's main thread (`npm run bench:queue -- --profile`).
 * Over the same asks, a set of the text's exact 5-grams told 168 of the 170 absent tokens apart
 * (4-grams 157, 3-grams 69). Hand-written rather than a bloom-filter package: those take a string
 * key per item, and a substring for each of the text's 4.3 million windows took 335 ms to build (a
 * Set of strings); hashing the char codes in place takes 20–30 ms and allocates the bitmap only.
 */

/** Window length: the needle's windows must all be in the text for it to be there. */
export const GRAM = 5;

export interface GramFilter {
  /** False when `needle` is certainly not a substring of the text; true when it may be. */
  mayContain(needle: string): boolean;
}

/** Multiplier of the rolling hash (Rabin–Karp, modulo 2^32), and its GRAM-1-th power. */
const B = 0x01000193;
let top = 1;
for (let k = 1; k < GRAM; k++) top = Math.imul(top, B);
const B_TOP = top;

/**
 * Calls `visit` with the bit of every window of `s`, a rolling hash: each step takes the leaving
 * character out and the new one in (two multiplications), not the whole window again — building
 * the bodies' filter took 38–48 ms hashing each window whole.
 */
function eachWindow(s: string, shift: number, visit: (bit: number) => boolean): void {
  if (s.length < GRAM) return;
  let h = 0;
  for (let k = 0; k < GRAM; k++) h = (Math.imul(h, B) + s.charCodeAt(k)) | 0;
  for (let i = 0; ; i++) {
    // Fibonacci hashing: the high bits of the product are the well-mixed ones.
    if (!visit(Math.imul(h, 0x9e3779b1) >>> shift)) return;
    if (i + GRAM >= s.length) return;
    h = (Math.imul((h - Math.imul(s.charCodeAt(i), B_TOP)) | 0, B) + s.charCodeAt(i + GRAM)) | 0;
  }
}

/**
 * The filter of `text`: at least 2 bits per character, a power of two, at most 2^24 bits (2 MB).
 * The benign bodies (2.6 MB, 432k distinct windows) get 1 MB, with about 1 bit in 20 set: an absent
 * window passes for present 1 time in 20.
 */
export function gramFilter(text: string): GramFilter {
  let bits = 1 << 16;
  while (bits < text.length * 2 && bits < 1 << 24) bits *= 2;
  const shift = 32 - Math.log2(bits);
  const map = new Uint32Array(bits >>> 5);
  eachWindow(text, shift, (b) => {
    map[b >>> 5]! |= 1 << (b & 31);
    return true;
  });
  return {
    mayContain(needle: string): boolean {
      // A needle shorter than a window has no window to rule it out.
      let present = true;
      eachWindow(needle, shift, (b) => (present = (map[b >>> 5]! & (1 << (b & 31))) !== 0));
      return present;
    },
  };
}
