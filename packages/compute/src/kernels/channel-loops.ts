/**
 * Per-channel loops over a channels-last array (element i belongs to channel i mod c), walking one
 * channel at a time with a stride of c and four independent accumulators: V8 then keeps the sums in
 * registers and overlaps the additions, about four times faster than one accumulator array indexed
 * by channel. Sums are float64.
 */

/** Σ (x − shift) and Σ (x − shift)² per channel. */
export function shiftedMoments(x: Float32Array, c: number, shift: ArrayLike<number>): { s1: Float64Array; s2: Float64Array } {
  const n = x.length;
  const step = 4 * c;
  const end = n - (n % step);
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const k = shift[j];
    let p0 = 0, p1 = 0, p2 = 0, p3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
    let i = j;
    for (; i < end; i += step) {
      const d0 = x[i] - k, d1 = x[i + c] - k, d2 = x[i + 2 * c] - k, d3 = x[i + 3 * c] - k;
      p0 += d0; p1 += d1; p2 += d2; p3 += d3;
      q0 += d0 * d0; q1 += d1 * d1; q2 += d2 * d2; q3 += d3 * d3;
    }
    for (; i < n; i += c) {
      const d = x[i] - k;
      p0 += d;
      q0 += d * d;
    }
    s1[j] = p0 + p1 + p2 + p3;
    s2[j] = q0 + q1 + q2 + q3;
  }
  return { s1, s2 };
}

/** Σ dy and Σ dy·(x − mean) per channel. */
export function gradientSums(dy: Float32Array, x: Float32Array, c: number, mean: ArrayLike<number>): { dySum: Float64Array; dyXcSum: Float64Array } {
  const n = x.length;
  const step = 4 * c;
  const end = n - (n % step);
  const dySum = new Float64Array(c);
  const dyXcSum = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const mu = mean[j];
    let p0 = 0, p1 = 0, p2 = 0, p3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
    let i = j;
    for (; i < end; i += step) {
      const g0 = dy[i], g1 = dy[i + c], g2 = dy[i + 2 * c], g3 = dy[i + 3 * c];
      p0 += g0; p1 += g1; p2 += g2; p3 += g3;
      q0 += g0 * (x[i] - mu); q1 += g1 * (x[i + c] - mu); q2 += g2 * (x[i + 2 * c] - mu); q3 += g3 * (x[i + 3 * c] - mu);
    }
    for (; i < n; i += c) {
      p0 += dy[i];
      q0 += dy[i] * (x[i] - mu);
    }
    dySum[j] = p0 + p1 + p2 + p3;
    dyXcSum[j] = q0 + q1 + q2 + q3;
  }
  return { dySum, dyXcSum };
}

/** out = x·scale + offset, per channel. */
export function affine(out: Float32Array, x: Float32Array, c: number, scale: ArrayLike<number>, offset: ArrayLike<number>): void {
  const n = x.length;
  const step = 4 * c;
  const end = n - (n % step);
  for (let j = 0; j < c; j++) {
    const s = scale[j], o = offset[j];
    let i = j;
    for (; i < end; i += step) {
      out[i] = x[i] * s + o;
      out[i + c] = x[i + c] * s + o;
      out[i + 2 * c] = x[i + 2 * c] * s + o;
      out[i + 3 * c] = x[i + 3 * c] * s + o;
    }
    for (; i < n; i += c) out[i] = x[i] * s + o;
  }
}

/** out = a·sa + b·sb + offset, per channel. */
export function affine2(out: Float32Array, a: Float32Array, b: Float32Array, c: number, sa: ArrayLike<number>, sb: ArrayLike<number>, offset: ArrayLike<number>): void {
  const n = a.length;
  const step = 4 * c;
  const end = n - (n % step);
  for (let j = 0; j < c; j++) {
    const ka = sa[j], kb = sb[j], o = offset[j];
    let i = j;
    for (; i < end; i += step) {
      out[i] = a[i] * ka + b[i] * kb + o;
      out[i + c] = a[i + c] * ka + b[i + c] * kb + o;
      out[i + 2 * c] = a[i + 2 * c] * ka + b[i + 2 * c] * kb + o;
      out[i + 3 * c] = a[i + 3 * c] * ka + b[i + 3 * c] * kb + o;
    }
    for (; i < n; i += c) out[i] = a[i] * ka + b[i] * kb + o;
  }
}
