import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@lenna/compute';
import { readArrowFile, runStageInProcess, tableToRows } from '@lenna/core';
import { cellShapes, edgeCount } from '@lenna/nn';
import { architectureLoss } from '../src/arch-loss.js';
import { createLatencyTerm } from '../src/latency.js';
import { dartsSearchParams } from '../src/params.js';
import { stage } from '../src/stage.js';
import { handModel, latencyMs, OP_COST, TINY_OPS, TINY_PARAMS, writeHandModel } from './helpers.js';

const nodes = TINY_PARAMS.nodes;
const edges = edgeCount(nodes);
const shapes = cellShapes({ C: 2, layers: 3, nodes, inputSize: 8 });

const softmaxRows = (m: number[][]) =>
  m.map((row) => {
    const e = row.map((v) => Math.exp(v - Math.max(...row)));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  });

/** Fixed, uneven α (rows of a small table) so the op weights differ edge by edge. */
const alphaNormal = Array.from({ length: edges }, (_, e) => TINY_OPS.map((_, k) => Math.sin(3 * e + k) * 0.8));
const alphaReduce = Array.from({ length: edges }, (_, e) => TINY_OPS.map((_, k) => Math.cos(2 * e - k) * 0.5));

/** E[lat] of the hand model by hand: Σ over cells of exp(−1 + 0.5·ln c + Σ cost·p). */
function expectedByHand(normal: number[][], reduce: number[][]): number {
  return shapes.reduce((sum, s) => sum + latencyMs(TINY_OPS, s.c, softmaxRows(s.reduction ? reduce : normal)), 0);
}

/**
 * ∂E/∂α_normal by hand: a normal cell's latency is exp(… + Σ_e Σ_j cost_j p_ej), and
 * ∂(Σ_j cost_j p_ej)/∂α_ek = p_ek (cost_k − Σ_j cost_j p_ej) (the softmax's Jacobian).
 */
function expectedGradByHand(normal: number[][]): number[][] {
  const p = softmaxRows(normal);
  const cost = TINY_OPS.map((op) => OP_COST[op]);
  const cellSum = shapes.filter((s) => !s.reduction).reduce((sum, s) => sum + latencyMs(TINY_OPS, s.c, p), 0);
  return p.map((row) => {
    const mean = row.reduce((m, pk, k) => m + pk * cost[k], 0);
    return row.map((pk, k) => cellSum * pk * (cost[k] - mean));
  });
}

let root: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  root = await mkdtemp(join(tmpdir(), 'darts-search-target-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('latencyLoss target: CE + λ·|E/T − 1|', () => {
  it('has the value of a hand-computed case on both sides of T, and λ = 0 leaves CE', () => {
    const ce = tf.scalar(1.5);
    const o = { lambda: 2, beta: 0.6, reference: 10, form: 'target' as const, targetMs: 4 };
    expect(architectureLoss(ce, tf.scalar(6), o).dataSync()[0]).toBeCloseTo(1.5 + 2 * 0.5, 6);
    expect(architectureLoss(ce, tf.scalar(3), o).dataSync()[0]).toBeCloseTo(1.5 + 2 * 0.25, 6);
    expect(architectureLoss(ce, tf.scalar(4), o).dataSync()[0]).toBeCloseTo(1.5, 6);
    expect(architectureLoss(ce, tf.scalar(6), { ...o, lambda: 0 }).dataSync()[0]).toBeCloseTo(1.5, 6);
  });

  for (const side of ['above', 'below'] as const) {
    it(`has the α-gradient λ/T·sign(E − T)·∂E/∂α by hand and by central differences, with E ${side} T`, () => {
      const { model } = handModel(TINY_OPS, edges);
      const term = createLatencyTerm(model, shapes, TINY_OPS, nodes, 8);
      const e0 = expectedByHand(alphaNormal, alphaReduce);
      const targetMs = side === 'above' ? 0.7 * e0 : 1.4 * e0;
      const o = { lambda: 3, beta: 0.6, reference: e0, form: 'target' as const, targetMs };
      const ce = 0.9;
      const lossByHand = (normal: number[][]) => ce + o.lambda * Math.abs(expectedByHand(normal, alphaReduce) / targetMs - 1);

      const an = tf.variable(tf.tensor2d(alphaNormal));
      const ar = tf.variable(tf.tensor2d(alphaReduce));
      const { value, grads } = tf.variableGrads(() => architectureLoss(tf.scalar(ce), term.expected(an, ar), o), [an, ar]);
      expect(value.dataSync()[0]).toBeCloseTo(lossByHand(alphaNormal), 5);
      const analytic = grads[an.name].arraySync() as number[][];

      const sign = side === 'above' ? 1 : -1;
      const byHand = expectedGradByHand(alphaNormal).map((row) => row.map((g) => (sign * o.lambda * g) / targetMs));
      const eps = 1e-3;
      for (let e = 0; e < edges; e++) {
        for (let k = 0; k < TINY_OPS.length; k++) {
          expect(analytic[e][k]).toBeCloseTo(byHand[e][k], 4);
          const [plus, minus] = [alphaNormal.map((r) => [...r]), alphaNormal.map((r) => [...r])];
          plus[e][k] += eps;
          minus[e][k] -= eps;
          expect(analytic[e][k]).toBeCloseTo((lossByHand(plus) - lossByHand(minus)) / (2 * eps), 3);
        }
      }
      // The convolution's weight is pushed down above T and up below it.
      const conv = TINY_OPS.indexOf('sep_conv_3x3');
      expect(Math.sign(analytic[0][conv])).toBe(sign);
      tf.dispose([an, ar, value, ...Object.values(grads)]);
      model.dispose();
    });
  }
});

describe('latencyLoss target: params', () => {
  it('needs targetMs and λ > 0, and refuses targetMs with another form', () => {
    const issue = (p: Record<string, unknown>) => dartsSearchParams.safeParse(p).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issue({ latencyLoss: 'target', lambda: 1 })).toEqual([expect.stringMatching(/^targetMs: is missing/)]);
    expect(issue({ latencyLoss: 'target', targetMs: 5 })).toEqual([expect.stringMatching(/^lambda: is 0/)]);
    expect(issue({ lambda: 1, targetMs: 5 })).toEqual([expect.stringMatching(/^targetMs: is 5, but latencyLoss is additive/)]);
    expect(issue({ latencyLoss: 'target', lambda: 1, targetMs: -1 })?.[0]).toMatch(/^targetMs/);
    expect(dartsSearchParams.parse({ latencyLoss: 'target', lambda: 1, targetMs: 5 })).toMatchObject({ latencyLoss: 'target', targetMs: 5, latencyNetwork: null });
    expect(dartsSearchParams.safeParse({ latencyNetwork: { C: 8 } }).success).toBe(false);
  });
});

describe('a search with a latency target', () => {
  const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

  async function search(name: string, params: Record<string, unknown>) {
    const modelDir = await writeHandModel(join(root, `${name}.model`), TINY_OPS, edges);
    const dir = join(root, name);
    await runStageInProcess(stage, { params: { ...TINY_PARAMS, ...params }, inputs: { model: modelDir }, stagingDir: dir, scratchDir: join(root, `${name}.scratch`) });
    const summary = await readJson(join(dir, 'summary', 'summary.json'));
    const history = tableToRows(await readArrowFile(join(dir, 'history', 'history.arrow')));
    return { summary, history };
  }

  // E[lat] sums over the cells of latencyNetwork (C 4, 3 layers at the search's 8×8): at α ≈ 0, the uniform mixture.
  const latencyNetwork = { C: 4, layers: 3 };
  const evalShapes = cellShapes({ ...latencyNetwork, nodes, inputSize: 8 });
  const uniform = Array.from({ length: edges }, () => TINY_OPS.map(() => 1 / TINY_OPS.length));
  const uniformMs = evalShapes.reduce((sum, s) => sum + latencyMs(TINY_OPS, s.c, uniform), 0);

  for (const [side, factor] of [['below', 0.6], ['above', 1.5]] as const) {
    it(`moves E[lat] of latencyNetwork's cells towards a T ${side} it, and records T and each epoch's derived-cell latency`, async () => {
      const targetMs = factor * uniformMs;
      const { summary, history } = await search(`target-${side}`, { epochs: 3, archLr: 0.05, seed: 1, lambda: 5, latencyLoss: 'target', targetMs, latencyNetwork });
      const { initial, final } = summary.expected_latency_ms;
      expect(initial).toBeCloseTo(uniformMs, 2);
      expect(Math.abs(final - targetMs)).toBeLessThan(0.7 * Math.abs(initial - targetMs));
      expect(summary).toMatchObject({ latency_loss: 'target', target_ms: targetMs, latency_network: { network: 'eval', C: 4, layers: 3, input_size: 8 } });
      expect(history.map((r) => r.expected_latency_ms)).toHaveLength(3);
      expect(history.at(-1)!.expected_latency_ms).toBeCloseTo(final, 6);
      expect(history.every((r) => typeof r.genotype_latency_ms === 'number' && r.genotype_latency_ms > 0)).toBe(true);
      expect(history.at(-1)!.genotype_latency_ms).toBeCloseTo(summary.genotype_latency_ms, 6);
    });
  }
});
