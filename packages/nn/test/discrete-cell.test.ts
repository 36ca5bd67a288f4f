import * as tf from '@tensorflow/tfjs';
import { measureExpectedLatency } from '@lenna/compute';
import { beforeAll, describe, expect, it } from 'vitest';
import { cellEdges, cellInputShapes, cellShapes, createDiscreteCell, createEvalNetwork, DARTS_OPS, sampledCells, type CellShape, type Genotype, type OpName } from '../src/index.js';
import { useCpu, values } from './setup.js';

beforeAll(useCpu);

const normal: CellShape = { reduction: false, reductionPrev: false, cPrevPrev: 6, cPrev: 6, c: 4, hw: 8, batch: 2 };
const afterReduction: CellShape = { reduction: false, reductionPrev: true, cPrevPrev: 8, cPrev: 16, c: 4, hw: 4, batch: 2 };

const rand = (shape: number[]) => tf.randomNormal(shape as [number, number, number, number], 0, 1, 'float32', 9) as tf.Tensor4D;

describe('discrete cell', () => {
  it('takes s0 twice as large after a reduction cell and outputs nodes·c channels', () => {
    expect(cellInputShapes(afterReduction)).toEqual([[2, 8, 8, 8], [2, 4, 4, 16]]);
    const choice = Array.from({ length: 14 }, (_, e) => DARTS_OPS[1 + (e % 7)]);
    const cell = createDiscreteCell(afterReduction, choice, 1);
    const [s0, s1] = cell.inputShapes.map(rand);
    expect(cell.forward(s0, s1).shape).toEqual([2, 4, 4, 16]);
    cell.dispose();
  });

  it('halves the size in a reduction cell, for every op on the input edges', () => {
    for (const op of DARTS_OPS) {
      const shape: CellShape = { ...normal, reduction: true, c: 8 };
      const cell = createDiscreteCell(shape, new Array(5).fill(op), 1);
      const [s0, s1] = cell.inputShapes.map(rand);
      expect(cell.forward(s0, s1, { training: true }).shape, op).toEqual([2, 4, 4, 16]);
      cell.dispose();
    }
  });

  it('outputs zeros when every edge is none, and counts only the preprocessing', () => {
    const cell = createDiscreteCell(normal, new Array(5).fill('none'), 1);
    const [s0, s1] = cell.inputShapes.map(rand);
    expect(values(cell.forward(s0, s1)).every((v) => v === 0)).toBe(true);
    expect(cell.macs).toBe(2 * 6 * 4 * 64);
    expect(cell.paramCount).toBe(2 * 6 * 4);
  });

  it('counts a cell of sep_conv_3x3 on every edge by hand', () => {
    const cell = createDiscreteCell(normal, new Array(5).fill('sep_conv_3x3' as OpName), 1);
    const sep = 2 * (9 * 4 * 64 + 16 * 64);
    expect(cell.macs).toBe(2 * 6 * 4 * 64 + 5 * sep);
    expect(cell.paramCount).toBe(2 * 24 + 5 * 2 * (36 + 16));
  });

  it('eval kind builds a genotype cell with the eval network’s layers: its parameters, not the search cell’s', () => {
    const genotype = {
      normal: [['sep_conv_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 0], ['dil_conv_3x3', 2], ['avg_pool_3x3', 1], ['sep_conv_5x5', 3], ['dil_conv_5x5', 0], ['max_pool_3x3', 4]],
      normal_concat: [2, 3, 4, 5],
      reduce: [['max_pool_3x3', 0], ['sep_conv_3x3', 1], ['skip_connect', 2], ['avg_pool_3x3', 0], ['dil_conv_3x3', 1], ['sep_conv_5x5', 2], ['max_pool_3x3', 3], ['skip_connect', 4]],
      reduce_concat: [2, 3, 4, 5],
    } as Genotype;
    const net = createEvalNetwork({ genotype, C: 4, layers: 3, numClasses: 10, inputChannels: 1, inputSize: 8, seed: 1 });
    for (const shape of net.shapes) {
      const gene = shape.reduction ? genotype.reduce : genotype.normal;
      const choice: OpName[] = cellEdges(4).map(({ node, from }) => (gene.find(([, f], k) => Math.floor(k / 2) === node && f === from)?.[0] ?? 'none') as OpName);
      const inNetwork = [...net.store.weights.entries()].filter(([name]) => name.startsWith(`cells.${shape.index}.`)).reduce((n, [, v]) => n + v.size, 0);
      const evalCell = createDiscreteCell(shape, choice, 2, 'eval');
      const searchCell = createDiscreteCell(shape, choice, 2, 'search');
      expect(evalCell.paramCount, `cell ${shape.index}`).toBe(inNetwork);
      expect(searchCell.paramCount).toBeLessThan(inNetwork);
      const [s0, s1] = evalCell.inputShapes.map(rand);
      expect(evalCell.forward(s0, s1).shape).toEqual(searchCell.forward(s0, s1).shape);
      evalCell.dispose();
      searchCell.dispose();
    }
    net.dispose();
  });

  it('rejects a choice that is no cell', () => {
    expect(() => createDiscreteCell(normal, new Array(4).fill('none'), 1)).toThrow(/4 edges/);
  });
});

describe('sampled cells for the latency protocol', () => {
  it('builds the sampled cell for each choice and runs under measureExpectedLatency', async () => {
    const shape = cellShapes({ C: 2, layers: 3, nodes: 2, inputSize: 8, batch: 1 })[1];
    const cells = sampledCells(shape, DARTS_OPS, 3);
    const r = cells.build([4, 0, 7, 3, 1]);
    expect(r.run().shape).toEqual([1, 4, 4, 8]);
    r.dispose();
    const probs = Array.from({ length: 5 }, () => new Array(8).fill(1 / 8));
    const result = await measureExpectedLatency(probs, cells.build, { runs: 1, warmup: 0, hits: 1, maxResets: 2 });
    expect(result.resets).toBeGreaterThanOrEqual(1);
    expect(result.meanMs).toBeGreaterThan(0);
    cells.dispose();
    expect(() => cells.build([8, 0, 0, 0, 0])).toThrow(/outside the op set/);
  });
});
