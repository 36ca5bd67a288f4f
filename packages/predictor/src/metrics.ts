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
