import { describe, expect, it } from 'vitest';
import { createRng } from '@lenna/core';
import { fitRidge, predictRidge } from '../src/ridge.js';

describe('ridge regression (closed form)', () => {
  it('recovers an exact linear function when alpha is ~0', () => {
    const rng = createRng(3);
    const [n, d] = [50, 4];
    const truth = [0.5, -2, 3, 0];
    const x = Float64Array.from({ length: n * d }, () => rng.normal());
    const y = Float64Array.from({ length: n }, (_, i) => 1.5 + truth.reduce((s, w, j) => s + w * x[i * d + j], 0));
    const model = fitRidge(x, y, d, 0);
    truth.forEach((w, j) => expect(model.weights[j]).toBeCloseTo(w, 6));
    expect(model.intercept).toBeCloseTo(1.5, 6);
    const predicted = predictRidge(model, x);
    y.forEach((v, i) => expect(predicted[i]).toBeCloseTo(v, 6));
  });

  it('shrinks by alpha: one feature, w = Σ x̃ỹ / (Σ x̃² + alpha) on centred data', () => {
    const x = [1, 2, 3];
    const y = [2, 2, 5];
    // Centred: x̃ = [-1, 0, 1], ỹ = [-1, -1, 2]; Σx̃ỹ = 3, Σx̃² = 2; alpha 1 gives w = 1, b = 3 - 2·1 = 1.
    const model = fitRidge(x, y, 1, 1);
    expect(model.weights[0]).toBeCloseTo(1, 8);
    expect(model.intercept).toBeCloseTo(1, 8);
  });

  it('copes with a constant feature (intercept takes it, weight 0)', () => {
    const model = fitRidge([1, 7, 2, 7, 3, 7], [1, 2, 3], 2, 0);
    expect(model.weights[0]).toBeCloseTo(1, 6);
    expect(model.weights[1]).toBeCloseTo(0, 6);
  });
});
