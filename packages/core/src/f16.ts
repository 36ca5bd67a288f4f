/**
 * IEEE 754 binary16 <-> JS number conversion (safetensors F16). tfjs and typed arrays have no
 * Float16Array in Node 20, so the bits are handled by hand.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Typed arrays use the platform's byte order; LENNA assumes little-endian hosts (x86, ARM), as safetensors does.
const LO = 0;
const HI = 1;

/** Nearest binary16 bit pattern (round half to even) of a double, computed from the double's own bits so there is no double rounding. */
export function floatToHalfBits(value: number): number {
  f64[0] = value;
  const hi = u32[HI];
  const lo = u32[LO];
  const sign = (hi >>> 16) & 0x8000;
  const exponent = (hi >>> 20) & 0x7ff;
  const mantissaHigh = hi & 0xfffff; // top 20 of the 52 mantissa bits; `lo` holds the other 32
  if (exponent === 0x7ff) return sign | 0x7c00 | (mantissaHigh !== 0 || lo !== 0 ? 0x200 : 0);
  const halfExponent = exponent - 1023 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) return sign | subnormalHalf(mantissaHigh, lo, halfExponent);
  const kept = (halfExponent << 10) | (mantissaHigh >>> 10);
  // A carry out of the mantissa bumps the exponent, which is right (up to infinity, 0x7c00).
  return sign | roundHalfEven(kept, mantissaHigh & 0x3ff, 0x200, lo !== 0);
}

/** Magnitude bits of a value below the smallest normal half (2^-14): a multiple of 2^-24. */
function subnormalHalf(mantissaHigh: number, lo: number, halfExponent: number): number {
  if (halfExponent < -10) return 0; // below 2^-25: rounds to zero
  const significand = mantissaHigh | 0x100000; // 21 bits with the implicit leading 1
  const shift = 11 - halfExponent; // 11..21
  const kept = significand >>> shift;
  const remainder = significand & ((1 << shift) - 1);
  // kept may round up to 0x400, the smallest normal's bit pattern, which is right.
  return roundHalfEven(kept, remainder, 1 << (shift - 1), lo !== 0);
}

function roundHalfEven(kept: number, remainder: number, halfway: number, sticky: boolean): number {
  const roundUp = remainder > halfway || (remainder === halfway && (sticky || (kept & 1) === 1));
  return roundUp ? kept + 1 : kept;
}

export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function halfBitsToFloat32Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBitsToFloat(bits[i]);
  return out;
}

export function floatArrayToHalfBits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalfBits(values[i]);
  return out;
}
