import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@lenna/compute';
import { cellShapes, edgeCount, type Genotype } from '@lenna/nn';
import { tableToRows, UserError } from '@lenna/core';
import { architectureLoss } from '../src/arch-loss.js';
import { genotypeProbs } from '../src/genotype-probs.js';
import { historyTable, meanAlphaEntropy } from '../src/history.js';
import { createLatencyTerm, modelColumnOrder } from '../src/latency.js';
import { handModel, latencyMs, TINY_OPS } from './helpers.js';

const softmaxRows = (m: number[][]) =>
  m.map((row) => {
    const e = row.map((v) => Math.exp(v - Math.max(...row)));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  });

const nodes = 2;
const edges = edgeCount(nodes);
const shapes = cellShapes({ C: 2, layers: 3, nodes, inputSize: 8 });

function randomAlphas(seed: number): number[][] {
  let s = seed;
  return Array.from({ length: edges }, () => TINY_OPS.map(() => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 2));
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('E[lat]', () => {
  it('is the sum over cells of the model under softmax(α), normal cells on α_normal and reduction cells on α_reduce', () => {
    const { model } = handModel(TINY_OPS, edges);
    const term = createLatencyTerm(model, shapes, TINY_OPS, nodes, 8);
    const [an, ar] = [randomAlphas(1), randomAlphas(2)];
    const got = tf.tidy(() => term.expected(tf.tensor2d(an), tf.tensor2d(ar)).dataSync()[0]);
    const want = shapes.reduce((sum, s) => sum + latencyMs(TINY_OPS, s.c, softmaxRows(s.reduction ? ar : an)), 0);
    expect(shapes.some((s) => s.reduction) && shapes.some((s) => !s.reduction)).toBe(true);
    expect(got).toBeCloseTo(want, 4);
    model.dispose();
  });

  it('has the gradient of central finite differences in α', () => {
    const { model } = handModel(TINY_OPS, edges);
    const term = createLatencyTerm(model, shapes, TINY_OPS, nodes, 8);
    const an = tf.variable(tf.tensor2d(randomAlphas(3)));
    const ar = tf.variable(tf.tensor2d(randomAlphas(4)));
    const { grads } = tf.variableGrads(() => term.expected(an, ar), [an, ar]);
    const analytic = grads[an.name].arraySync() as number[][];
    const f = (m: number[][]) => shapes.reduce((s, c) => s + latencyMs(TINY_OPS, c.c, softmaxRows(c.reduction ? (ar.arraySync() as number[][]) : m)), 0);
    const base = an.arraySync() as number[][];
    const eps = 1e-4;
    for (const [e, k] of [[0, 0], [2, 3], [4, 1]]) {
      const plus = base.map((r) => [...r]);
      const minus = base.map((r) => [...r]);
      plus[e][k] += eps;
      minus[e][k] -= eps;
      expect(analytic[e][k]).toBeCloseTo((f(plus) - f(minus)) / (2 * eps), 3);
    }
    expect(Math.abs(analytic[2][3])).toBeGreaterThan(1e-3);
    tf.dispose([an, ar, ...Object.values(grads)]);
    model.dispose();
  });

  it('maps the model columns when the op order differs, and refuses another op set naming both lists', () => {
    const shuffled = ['sep_conv_3x3', 'none', 'avg_pool_3x3', 'skip_connect'];
    expect(modelColumnOrder(shuffled, edges, TINY_OPS, nodes)).toEqual([3, 0, 2, 1]);
    const { model } = handModel(shuffled, edges);
    const term = createLatencyTerm(model, shapes, TINY_OPS, nodes, 8);
    const an = randomAlphas(5);
    const got = tf.tidy(() => term.expected(tf.tensor2d(an), tf.tensor2d(an)).dataSync()[0]);
    const want = shapes.reduce((sum, s) => sum + latencyMs(TINY_OPS, s.c, softmaxRows(an)), 0);
    expect(got).toBeCloseTo(want, 4);
    model.dispose();
    expect(() => modelColumnOrder(['none', 'skip_connect'], edges, TINY_OPS, nodes)).toThrow(/\[none, skip_connect\].*\[none, skip_connect, avg_pool_3x3, sep_conv_3x3\]/);
    expect(() => modelColumnOrder(TINY_OPS, 14, TINY_OPS, nodes)).toThrow(/14 edges/);
  });

  it('asks about search cells at the batch, and names a shape the model was not trained on unless extrapolation is allowed', () => {
    const { model } = handModel(TINY_OPS, edges);
    expect(createLatencyTerm(model, shapes, TINY_OPS, nodes, 8).queries.every((q) => q.kind === 'search' && q.batch === 8)).toBe(true);
    const wider = cellShapes({ C: 4, layers: 3, nodes, inputSize: 8 });
    expect(() => createLatencyTerm(model, wider, TINY_OPS, nodes, 8)).toThrow(UserError);
    expect(() => createLatencyTerm(model, wider, TINY_OPS, nodes, 8)).toThrow(/^darts-search would ask the latency model about the cell shape normal\|false\|12\|12\|4\|8\|8\|search \(block_type\|/);
    expect(() => createLatencyTerm(model, shapes, TINY_OPS, nodes, 16)).toThrow(/\|16\|search/);
    const term = createLatencyTerm(model, wider, TINY_OPS, nodes, 8, { allowExtrapolation: true });
    expect(Number.isFinite(term.expectedForProbs(softmaxRows(randomAlphas(1)), softmaxRows(randomAlphas(2))))).toBe(true);
    model.dispose();
  });

});

describe('genotype probabilities', () => {
  it('puts one-hot rows on the kept edges and none elsewhere', () => {
    const g: Genotype = {
      normal: [['skip_connect', 0], ['sep_conv_3x3', 1], ['avg_pool_3x3', 2], ['skip_connect', 0]],
      normal_concat: [2, 3],
      reduce: [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 1], ['sep_conv_3x3', 2]],
      reduce_concat: [2, 3],
    };
    const p = genotypeProbs(g, TINY_OPS, nodes);
    // Edges: node 0 reads 0, 1 (edges 0, 1); node 1 reads 0, 1, 2 (edges 2, 3, 4).
    expect(p.normal).toEqual([
      [0, 1, 0, 0],
      [0, 0, 0, 1],
      [0, 1, 0, 0],
      [1, 0, 0, 0],
      [0, 0, 1, 0],
    ]);
    expect(p.reduce[2]).toEqual([1, 0, 0, 0]);
    expect(p.reduce[4]).toEqual([0, 0, 0, 1]);
  });
});

describe('architecture loss', () => {
  it('adds λ·E/L_ref, or multiplies by (log E / log L_ref)^β in microseconds', () => {
    const ce = tf.scalar(1.5);
    const e = tf.scalar(2);
    const o = { lambda: 0.5, beta: 0.6, reference: 4 };
    expect(architectureLoss(ce, e, { ...o, form: 'additive' }).dataSync()[0]).toBeCloseTo(1.5 + 0.5 * 0.5, 5);
    const ratio = Math.log(2000) / Math.log(4000);
    expect(architectureLoss(ce, e, { ...o, form: 'multiplicative' }).dataSync()[0]).toBeCloseTo(1.5 * ratio ** 0.6, 5);
    expect(architectureLoss(ce, e, { ...o, lambda: 0, form: 'additive' }).dataSync()[0]).toBeCloseTo(1.5, 6);
  });

  it('entropy of uniform rows is log(ops) and of a peaked row near 0', () => {
    expect(meanAlphaEntropy([[0, 0, 0, 0]])).toBeCloseTo(Math.log(4), 6);
    expect(meanAlphaEntropy([[50, 0, 0, 0]])).toBeLessThan(1e-10);
  });
});

describe('history table', () => {
  it('keeps a missing E[lat] (no latency model) as null and types the integer columns', () => {
    const row = { epoch: 0, train_loss: 1, train_acc: 0.5, val_loss: 1.1, val_acc: 0.4, expected_latency_ms: null, genotype_latency_ms: null, alpha_entropy: 2, genotype: 'N: x ; R: y', n_skip: 1, seconds: 3, lr: 0.025 };
    const table = historyTable([row, { ...row, epoch: 1, expected_latency_ms: 2.5, genotype_latency_ms: 1.25 }]);
    expect(String(table.schema.fields.find((f) => f.name === 'epoch')?.type)).toBe('Int32');
    expect(tableToRows(table).map((r) => r.expected_latency_ms)).toEqual([null, 2.5]);
    expect(tableToRows(table).map((r) => r.genotype_latency_ms)).toEqual([null, 1.25]);
  });
});
