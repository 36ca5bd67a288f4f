import { createRng } from '@lenna/core';

/** Accuracy of predicted against measured latencies (both in ms), as the metrics table reports it. */
export interface LatencyMetrics {
  mae_ms: number;
  rmse_ms: number;
  /** Mean absolute percentage error as a fraction (0.05 = 5%). */
  mape: number;
  /** Fraction of cells predicted within ±5% / ±10% of the measurement (nn-Meter's headline metric). */
  within5: number;
  within10: number;
  spearman: number;
  /** Kendall's tau-b (ties counted as neither concordant nor discordant, normalised for ties). */
  kendall: number;
  n_test: number;
}

function checkPaired(predicted: ArrayLike<number>, measured: ArrayLike<number>): number {
  if (predicted.length !== measured.length || measured.length === 0) {
    throw new Error(`Need equally many predictions and measurements (>0), got ${predicted.length} and ${measured.length}.`);
  }
  return measured.length;
}

function meanOf(n: number, term: (i: number) => number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += term(i);
  return sum / n;
}

export function meanAbsoluteError(predicted: ArrayLike<number>, measured: ArrayLike<number>): number {
  return meanOf(checkPaired(predicted, measured), (i) => Math.abs(predicted[i] - measured[i]));
}

export function rootMeanSquaredError(predicted: ArrayLike<number>, measured: ArrayLike<number>): number {
  return Math.sqrt(meanOf(checkPaired(predicted, measured), (i) => (predicted[i] - measured[i]) ** 2));
}

export function meanAbsolutePercentageError(predicted: ArrayLike<number>, measured: ArrayLike<number>): number {
  return meanOf(checkPaired(predicted, measured), (i) => Math.abs(predicted[i] - measured[i]) / Math.abs(measured[i]));
}

/** Fraction of predictions whose relative error is at most `tolerance` (0.1 = ±10%). */
export function withinFraction(predicted: ArrayLike<number>, measured: ArrayLike<number>, tolerance: number): number {
  // A hair of slack so that an error of exactly 10% counts despite rounding.
  return meanOf(checkPaired(predicted, measured), (i) => (Math.abs(predicted[i] - measured[i]) <= tolerance * Math.abs(measured[i]) * (1 + 1e-12) ? 1 : 0));
}

/** 1-based ranks; tied values share the average of the ranks they span. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const mx = meanOf(n, (i) => x[i]);
  const my = meanOf(n, (i) => y[i]);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/** Spearman's rho: Pearson correlation of the average ranks. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPaired(x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Kendall's tau-b over all pairs (O(n²): test splits are thousands of rows at most). */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkPaired(x, y);
  let concordant = 0;
  let discordant = 0;
  let tiedX = 0;
  let tiedY = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign(x[i] - x[j]);
      const dy = Math.sign(y[i] - y[j]);
      if (dx === 0) tiedX++;
      if (dy === 0) tiedY++;
      if (dx * dy > 0) concordant++;
      else if (dx * dy < 0) discordant++;
    }
  }
  const pairs = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((pairs - tiedX) * (pairs - tiedY));
  return denominator === 0 ? NaN : (concordant - discordant) / denominator;
}

export function latencyMetrics(predicted: ArrayLike<number>, measured: ArrayLike<number>): LatencyMetrics {
  return {
    mae_ms: meanAbsoluteError(predicted, measured),
    rmse_ms: rootMeanSquaredError(predicted, measured),
    mape: meanAbsolutePercentageError(predicted, measured),
    within5: withinFraction(predicted, measured, 0.05),
    within10: withinFraction(predicted, measured, 0.1),
    spearman: spearman(predicted, measured),
    kendall: kendallTauB(predicted, measured),
    n_test: measured.length,
  };
}

/** One row of the metrics table: a model's metrics on one scope of the test rows. */
export type ScopedMetrics = { model: string; scope: string } & LatencyMetrics;

/** A subset of the test rows the metrics are computed on: `all`, `one_hot` (discrete cells), `shape:<shapeKey>`. */
export interface Scope {
  name: string;
  rows: number[];
}

/**
 * The scopes of a test split: every row; the one-hot rows (what retrain-eval asks about, when there are
 * any); each shape's rows (the search compares cells within one shape only), in shapeKey order.
 */
export function testScopes(shapeKeys: readonly string[], oneHot: ArrayLike<boolean | number>): Scope[] {
  const all = shapeKeys.map((_, i) => i);
  const scopes: Scope[] = [{ name: 'all', rows: all }];
  const oneHotRows = all.filter((i) => Boolean(oneHot[i]));
  if (oneHotRows.length > 0) scopes.push({ name: 'one_hot', rows: oneHotRows });
  for (const key of [...new Set(shapeKeys)].sort()) scopes.push({ name: `shape:${key}`, rows: all.filter((i) => shapeKeys[i] === key) });
  return scopes;
}

/** Every model's metrics on every scope, model-major in the order given. */
export function scopedMetrics(predictions: Record<string, ArrayLike<number>>, measured: ArrayLike<number>, scopes: readonly Scope[]): ScopedMetrics[] {
  return Object.entries(predictions).flatMap(([model, predicted]) =>
    scopes.map((scope) => ({
      model,
      scope: scope.name,
      ...latencyMetrics(
        scope.rows.map((i) => predicted[i]),
        scope.rows.map((i) => measured[i]),
      ),
    })),
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)] + sorted[Math.ceil(mid)]) / 2;
}

/** The median over shapes of a model's Spearman ρ within the shape (shapes where ρ is undefined are left out; NaN if none is left). */
export function medianWithinShapeSpearman(rows: readonly ScopedMetrics[], model: string): number {
  const values = rows.filter((r) => r.model === model && r.scope.startsWith('shape:') && Number.isFinite(r.spearman)).map((r) => r.spearman);
  return values.length === 0 ? NaN : median(values);
}

/** The median and 90th percentile of the labels' relative standard errors (se_ms / latency_ms), NaN where a row has none. */
export function labelNoise(seMs: ArrayLike<number>, measured: ArrayLike<number>): { median_se: number; p90_se: number } {
  const relative = Array.from(measured, (m, i) => seMs[i] / m).filter(Number.isFinite);
  if (relative.length === 0) return { median_se: NaN, p90_se: NaN };
  const sorted = relative.sort((a, b) => a - b);
  const at = (q: number) => {
    const pos = q * (sorted.length - 1);
    return sorted[Math.floor(pos)] + (sorted[Math.ceil(pos)] - sorted[Math.floor(pos)]) * (pos - Math.floor(pos));
  };
  return { median_se: at(0.5), p90_se: at(0.9) };
}

/**
 * The within ±10% a perfect predictor of each test cell's true expected latency would score against
 * these labels: each label is its truth plus a normal error of its standard error, so the perfect
 * prediction falls within ±10% of a label with a probability set by that error. Simulated: `draws`
 * labels per row around the measured value (seeded normal draws), the share within ±10% of the row's
 * truth, averaged over rows. NaN where no row has a standard error.
 */
export function ceilingWithin10(seMs: ArrayLike<number>, measured: ArrayLike<number>, draws = 2000, seed = 0): number {
  const rng = createRng(seed);
  let hits = 0;
  let count = 0;
  for (let i = 0; i < measured.length; i++) {
    if (!Number.isFinite(seMs[i])) continue;
    const truth = measured[i];
    for (let d = 0; d < draws; d++) {
      const label = truth + seMs[i] * rng.normal();
      if (Math.abs(truth - label) <= 0.1 * Math.abs(label) * (1 + 1e-12)) hits++;
      count++;
    }
  }
  return count === 0 ? NaN : hits / count;
}
