/**
 * 3412 → "3,412", as `toLocaleString('en-US')` writes a whole number. Hand-written because the first
 * `toLocaleString` call of a process loads ICU's locale data: 19–22 ms on a 2-core machine (`node -e
 * "const t = performance.now(); (3412).toLocaleString('en-US'); console.log(performance.now() - t)"`),
 * paid by every `wafgen generate` for the commas in its report. Anything but a safe integer (and -0,
 * which toLocaleString writes "-0") is left to toLocaleString.
 */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n) || Object.is(n, -0)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = '';
  for (let end = digits.length; end > 0; end -= 3) {
    const part = digits.slice(Math.max(0, end - 3), end);
    out = out ? `${part},${out}` : part;
  }
  return n < 0 ? `-${out}` : out;
}
