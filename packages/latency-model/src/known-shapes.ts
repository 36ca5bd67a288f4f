import { UserError } from '@lenna/core';
import type { BatchedCellShape } from './cell.js';
import { SHAPE_KEY_LEGEND, shapeKey, type AdditiveCoefficients, type AdditiveTable } from './columns.js';

/** The parts of a model a shape check needs. */
export interface ShapesKnown {
  trainedShapes: readonly string[];
}

export interface ShapeCheckOptions {
  /** Ask about shapes the model was not trained on anyway (a researcher's deliberate extrapolation). */
  allowExtrapolation: boolean;
  /** Who asks, for the message: e.g. `darts-search`. */
  asker: string;
  /** What the user can do instead of extrapolating, e.g. `measure it with dataset-gen (search: ...)`. */
  fix: string;
}

/**
 * The queries' shapes the model never saw (shapeKeys, once each). Unless extrapolation is allowed the
 * first one is a UserError naming it: a latency model's answer for a shape without training rows is a
 * guess, and the search or the report would take it for a measurement.
 */
export function requireTrainedShapes(model: ShapesKnown, queries: readonly BatchedCellShape[], o: ShapeCheckOptions): string[] {
  const known = new Set(model.trainedShapes);
  const unseen = [...new Set(queries.map(shapeKey))].filter((key) => !known.has(key));
  if (unseen.length > 0 && !o.allowExtrapolation) {
    throw new UserError(
      `${o.asker} would ask the latency model about the cell shape ${unseen[0]} (${SHAPE_KEY_LEGEND}), which none of its training rows had ` +
        `(it was trained on ${model.trainedShapes.join(', ')}); ${o.fix}, or set allowExtrapolation: true to ask it anyway.`,
    );
  }
  return unseen;
}

/** log of each numeric shape field: the space the nearest trained shape is found in. */
function logFields(s: BatchedCellShape): number[] {
  return [s.cPrevPrev, s.cPrev, s.c, s.hw, s.batch].map(Math.log);
}

/** What an op of the cell roughly scales with: output channels × input channels × output pixels × batch. */
function work(s: BatchedCellShape): number {
  const hwOut = s.reduction ? s.hw / 2 : s.hw;
  return s.c * s.c * hwOut * hwOut * s.batch;
}

/** What the preprocessing (two 1×1 convolutions into c channels) roughly scales with. */
function preprocessWork(s: BatchedCellShape): number {
  return (s.cPrevPrev + s.cPrev) * s.c * s.hw * s.hw * s.batch;
}

function parseKey(key: string): BatchedCellShape {
  const [blockType, reductionPrev, cPrevPrev, cPrev, c, hw, batch, kind] = key.split('|');
  return { reduction: blockType === 'reduction', reductionPrev: reductionPrev === 'true', cPrevPrev: +cPrevPrev, cPrev: +cPrev, c: +c, hw: +hw, batch: +batch, kind: kind as BatchedCellShape['kind'] };
}

/**
 * A shape's additive coefficients: its own where the table has them, else (extrapolation) those of the
 * nearest trained shape of the same block type, reduction_prev and kind where there is one (nearest in
 * the logs of channels, size and batch), scaled by how the work of the ops and of the preprocessing
 * grows from that shape to this one. A rough guess, as any answer about an unmeasured shape is.
 */
export function coefficientsFor(table: AdditiveTable, cell: BatchedCellShape): AdditiveCoefficients {
  const own = table[shapeKey(cell)];
  if (own) return own;
  const candidates = Object.keys(table).map((key) => ({ key, shape: parseKey(key) }));
  const alike = candidates.filter(({ shape }) => shape.reduction === cell.reduction && shape.reductionPrev === cell.reductionPrev && shape.kind === cell.kind);
  const pool = alike.length > 0 ? alike : candidates;
  const target = logFields(cell);
  const distance = (s: BatchedCellShape) => logFields(s).reduce((sum, v, i) => sum + (v - target[i]) ** 2, 0);
  const nearest = pool.reduce((best, c) => (distance(c.shape) < distance(best.shape) ? c : best));
  const from = table[nearest.key];
  const opScale = work(cell) / work(nearest.shape);
  return { costs: from.costs.map((c) => c * opScale), constantMs: from.constantMs * (preprocessWork(cell) / preprocessWork(nearest.shape)) };
}
