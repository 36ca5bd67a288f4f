/** A linear model y ≈ x·weights + intercept, fitted by ridge regression (the intercept is not penalised). */
export interface RidgeModel {
  weights: Float64Array;
  intercept: number;
}

/** Closed form: centre X and y, solve (XᵀX + αI) w = Xᵀy by Cholesky, intercept = ȳ - x̄·w. */
export function fitRidge(x: ArrayLike<number>, y: ArrayLike<number>, features: number, alpha: number): RidgeModel {
  const n = y.length;
  if (x.length !== n * features) throw new Error(`X has ${x.length} values; expected ${n} rows x ${features} features.`);
  const xMean = new Float64Array(features);
  for (let i = 0; i < n; i++) for (let j = 0; j < features; j++) xMean[j] += x[i * features + j] / n;
  let yMean = 0;
  for (let i = 0; i < n; i++) yMean += y[i] / n;
  const gram = new Float64Array(features * features);
  const rhs = new Float64Array(features);
  const row = new Float64Array(features);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < features; j++) row[j] = x[i * features + j] - xMean[j];
    const yc = y[i] - yMean;
    for (let j = 0; j < features; j++) {
      rhs[j] += row[j] * yc;
      for (let k = 0; k <= j; k++) gram[j * features + k] += row[j] * row[k];
    }
  }
  // A tiny ridge even at alpha 0 keeps constant (all-zero centred) columns solvable.
  for (let j = 0; j < features; j++) gram[j * features + j] += alpha + 1e-10;
  const weights = solveCholesky(gram, rhs, features);
  let intercept = yMean;
  for (let j = 0; j < features; j++) intercept -= xMean[j] * weights[j];
  return { weights, intercept };
}

/** Solve A w = b for symmetric positive-definite A given by its lower triangle (row-major, overwritten). */
function solveCholesky(a: Float64Array, b: Float64Array, d: number): Float64Array {
  for (let j = 0; j < d; j++) {
    let diag = a[j * d + j];
    for (let k = 0; k < j; k++) diag -= a[j * d + k] ** 2;
    if (diag <= 0) throw new Error('Ridge normal equations are not positive definite; raise alpha.');
    const l = Math.sqrt(diag);
    a[j * d + j] = l;
    for (let i = j + 1; i < d; i++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = s / l;
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= a[i * d + k] * z[k];
    z[i] = s / a[i * d + i];
  }
  const w = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < d; k++) s -= a[k * d + i] * w[k];
    w[i] = s / a[i * d + i];
  }
  return w;
}

export function predictRidge(model: RidgeModel, x: ArrayLike<number>): Float64Array {
  const features = model.weights.length;
  const n = x.length / features;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = model.intercept;
    for (let j = 0; j < features; j++) s += x[i * features + j] * model.weights[j];
    out[i] = s;
  }
  return out;
}
