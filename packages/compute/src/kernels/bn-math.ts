/** The per-channel arithmetic of the fused BatchNorm kernels, shared by their JS and SIMD loops. */

export interface BnKernelAttrs {
  eps: number;
  /** g is a scalar (a mixed-op weight), per-channel, or absent; b per-channel or absent. */
  gKind: 'none' | 'scalar' | 'channel';
  hasBias: boolean;
}

/** Per-channel value of g: 1, its only element, or its c-th. */
export function channelScale(gv: Float32Array | undefined, kind: BnKernelAttrs['gKind'], c: number): number {
  if (!gv || kind === 'none') return 1;
  return kind === 'scalar' ? gv[0] : gv[c];
}

/** Per-channel results of the forward pass, from the shifted sums: y = x·scale + offset. */
export function forwardCoefficients(a: BnKernelAttrs, m: number, s1: ArrayLike<number>, s2: ArrayLike<number>, shift: ArrayLike<number>, gv?: Float32Array, bv?: Float32Array) {
  const c = shift.length;
  const r = { mean: new Float32Array(c), variance: new Float32Array(c), rstd: new Float32Array(c), scale: new Float32Array(c), offset: new Float32Array(c) };
  for (let j = 0; j < c; j++) {
    const md = s1[j] / m;
    r.variance[j] = Math.max(s2[j] / m - md * md, 0);
    r.rstd[j] = 1 / Math.sqrt(r.variance[j] + a.eps);
    r.mean[j] = shift[j] + md;
    r.scale[j] = r.rstd[j] * channelScale(gv, a.gKind, j);
    r.offset[j] = (bv ? bv[j] : 0) - r.mean[j] * r.scale[j];
  }
  return r;
}

/**
 * Per-channel coefficients of the backward pass. With k = rstd·g and x̂ = (x − μ)·rstd,
 * dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)) = k·dy + slope·x + offset.
 */
export function backwardCoefficients(a: BnKernelAttrs, m: number, dySum: ArrayLike<number>, dyXcSum: ArrayLike<number>, meanv: Float32Array, rstdv: Float32Array, gv?: Float32Array) {
  const c = meanv.length;
  const r = { k: new Float32Array(c), slope: new Float32Array(c), offset: new Float32Array(c), dyXhatSum: new Float32Array(c) };
  for (let j = 0; j < c; j++) {
    const rs = rstdv[j];
    r.dyXhatSum[j] = rs * dyXcSum[j];
    r.k[j] = rs * channelScale(gv, a.gKind, j);
    r.slope[j] = (-r.k[j] * rs * r.dyXhatSum[j]) / m;
    r.offset[j] = -r.slope[j] * meanv[j] - (r.k[j] * dySum[j]) / m;
  }
  return r;
}
