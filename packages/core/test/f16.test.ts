import { describe, expect, it } from 'vitest';
import { floatToHalfBits, halfBitsToFloat } from '../src/index.js';

// Bit patterns worked out by hand from the binary16 layout (1 sign, 5 exponent (bias 15), 10 mantissa bits).
const cases: [number, number][] = [
  [0, 0x0000],
  [-0, 0x8000],
  [1, 0x3c00],
  [-2, 0xc000],
  [0.5, 0x3800],
  [65504, 0x7bff], // largest finite half
  [2 ** -14, 0x0400], // smallest normal
  [2 ** -24, 0x0001], // smallest subnormal
  [1023 * 2 ** -24, 0x03ff], // largest subnormal
  [Infinity, 0x7c00],
  [-Infinity, 0xfc00],
];

describe('binary16 conversion', () => {
  it.each(cases)('%d <-> 0x%s', (value, bits) => {
    expect(floatToHalfBits(value)).toBe(bits);
    expect(Object.is(halfBitsToFloat(bits), value)).toBe(true);
  });

  it('rounds to nearest, ties to even', () => {
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie, 0x3c00 is even
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie between 0x3c01 and 0x3c02
    expect(floatToHalfBits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01); // just above the tie (sticky bit far below)
    expect(floatToHalfBits(0.1)).toBe(0x2e66);
    expect(floatToHalfBits(1 / 3)).toBe(0x3555);
    expect(floatToHalfBits(65519)).toBe(0x7bff);
    expect(floatToHalfBits(65520)).toBe(0x7c00); // tie rounds to the even pattern, which is infinity
    expect(floatToHalfBits(1e6)).toBe(0x7c00);
  });

  it('rounds subnormals and underflow correctly', () => {
    expect(floatToHalfBits(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(floatToHalfBits(2 ** -25 * (1 + 2 ** -30))).toBe(0x0001);
    expect(floatToHalfBits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2: even
    expect(floatToHalfBits(2 ** -26)).toBe(0x0000);
    expect(floatToHalfBits(-(2 ** -30))).toBe(0x8000);
    expect(floatToHalfBits(1023.5 * 2 ** -24)).toBe(0x0400); // rounds up into the smallest normal
    expect(floatToHalfBits(5e-324)).toBe(0x0000);
  });

  it('keeps NaN a NaN', () => {
    expect(floatToHalfBits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalfBits(Number.NaN) & 0x3ff).not.toBe(0);
    expect(halfBitsToFloat(0x7e00)).toBeNaN();
    expect(halfBitsToFloat(0xfc01)).toBeNaN();
  });

  it('round-trips every finite half and rounds every midpoint to the even neighbour', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfBitsToFloat(bits);
      if (Number.isNaN(value)) continue;
      expect(floatToHalfBits(value)).toBe(bits);
      if ((bits & 0x7fff) >= 0x7bff) continue; // no finite neighbour above
      const next = halfBitsToFloat(bits + 1);
      const even = bits % 2 === 0 ? bits : bits + 1;
      expect(floatToHalfBits((value + next) / 2)).toBe(even);
    }
  });
});
