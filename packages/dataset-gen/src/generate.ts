import type { Table } from 'apache-arrow';
import { deriveSeed, type ProgressEvent } from '@lenna/core';
import { additiveMs, edgeCount, shapeKey, type AdditiveTable, type BatchedCellShape } from '@lenna/latency-model';
import { datasetTable, type DatasetRow, type MeasuredRow } from './columns.js';
import { additiveTable, lutSites, OpLookupTable, opLutTable, type LutEntry } from './lut.js';
import type { DatasetGenParams } from './params.js';
import { calibrateReference, measureRow, referenceChoice, type ReferenceCell } from './protocol.js';
import { loadCalibration, planFingerprint, RowLog, saveCalibration, type Calibration } from './resume.js';
import { measurementOrder, planRow, type RowPlanOptions } from './sampling.js';
import { plannedShapes } from './shapes.js';
import type { LatencyTimer } from './timer.js';
import { checkExplicitShapes, checkOpSet } from './validate.js';

export interface GenerateOptions {
  params: DatasetGenParams;
  scratchDir: string;
  /** What times the cells and ops (the stage: its target's timer, measure-target's; tests a model of cost). */
  timer: LatencyTimer;
  /** Runs `fn` holding the machine alone (the runner's measurement lock). */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
  progress?: (event: ProgressEvent) => void;
  log?: (message: string) => void;
  signal?: AbortSignal;
  /** Called after each row is safely logged. */
  onRow?: (row: MeasuredRow, done: number, total: number) => void;
}

export interface GeneratedDataset {
  dataset: Table;
  opLut: Table;
  rows: DatasetRow[];
  lut: LutEntry[];
  shapes: BatchedCellShape[];
  /** Each shape's reference cell, by shapeKey (empty with reference: false). */
  references: Record<string, ReferenceCell>;
  /** Rows found in the scratch log and not measured again. */
  resumedRows: number;
}

/** The cells' weights and inputs: one seed per shape, so a shape's reference cell is built once. */
export function weightsSeed(seed: number, shape: BatchedCellShape): number {
  return deriveSeed(seed, `weights ${shapeKey(shape)}`);
}

export async function generateDataset(options: GenerateOptions): Promise<GeneratedDataset> {
  const { params } = options;
  const shapes = plannedShapes(params);
  const oneHotFractions = shapes.map((s) => (s.kind === 'eval' ? params.evalOneHotFraction : params.oneHotFraction));
  checkOpSet(params, Math.max(...oneHotFractions));
  checkExplicitShapes(params.shapes);
  const fingerprint = planFingerprint(params);
  const calibration = await calibrate(options, shapes, fingerprint);
  const lut = new OpLookupTable(calibration.lut, params.quantile);
  const additive = additiveTable(shapes, params.ops, params.nodes, lut);

  const planOptions: RowPlanOptions = { ...params, oneHotFractions };
  const total = shapes.length * params.rowsPerShape;
  const log = await RowLog.open(options.scratchDir, fingerprint);
  const resumedRows = log.rows.size;
  if (resumedRows > 0) options.log?.(`resuming: ${resumedRows} of ${total} rows already measured`);
  try {
    await measureRows(options, { shapes, planOptions, total, log, additive, references: calibration.references });
  } finally {
    await log.close();
  }

  const rows: DatasetRow[] = [];
  for (let index = 0; index < total; index++) {
    const plan = planRow(planOptions, index);
    const shape = shapes[plan.shapeIndex];
    const lutLatencyMs = additiveMs(additive[shapeKey(shape)], plan.probs.flat());
    rows.push({ plan, shape, measured: log.rows.get(index)!, lutLatencyMs });
  }
  return {
    dataset: datasetTable(rows, params.ops, edgeCount(params.nodes), additive),
    opLut: opLutTable(calibration.lut),
    rows,
    lut: calibration.lut,
    shapes,
    references: calibration.references,
    resumedRows,
  };
}

interface RowWork {
  shapes: BatchedCellShape[];
  planOptions: RowPlanOptions;
  total: number;
  log: RowLog;
  additive: AdditiveTable;
  references: Record<string, ReferenceCell>;
}

/** Every row not in the log yet, in the seeded measurement order, each under the lock, each logged as it ends. */
async function measureRows(options: GenerateOptions, work: RowWork): Promise<void> {
  const { params, timer } = options;
  const exclusive = options.exclusive ?? ((fn) => fn());
  const { log, total } = work;
  const eta = new EtaClock(total - log.rows.size);
  for (const index of measurementOrder(total, params.seed)) {
    if (log.rows.has(index)) continue;
    throwIfInterrupted(options.signal, log.rows.size, total);
    const plan = planRow(work.planOptions, index);
    const shape = work.shapes[plan.shapeIndex];
    const key = shapeKey(shape);
    const reference = params.reference ? work.references[key] : undefined;
    const m = await exclusive(() =>
      measureRow(timer, { shape, probs: plan.probs, gateSeed: plan.gateSeed }, params.ops, work.additive[key], reference, params, weightsSeed(params.seed, shape)),
    );
    const row: MeasuredRow = {
      index,
      latencyMs: m.meanMs,
      seMs: Number.isFinite(m.seMs) ? m.seMs : null,
      referenceMs: reference?.ms ?? null,
      resets: m.resets,
      converged: m.converged,
      cv: m.cv,
    };
    await log.append(row);
    eta.tick();
    const done = log.rows.size;
    options.progress?.({ done, total, label: `rows ${done}/${total}, ${eta.label()}` });
    options.onRow?.(row, done, total);
  }
}

/** The op table, then each shape's reference cell: measured once per plan, reloaded by a resumed run. */
async function calibrate(options: GenerateOptions, shapes: BatchedCellShape[], fingerprint: string): Promise<Calibration> {
  const saved = await loadCalibration(options.scratchDir, fingerprint);
  if (saved) return saved;
  const { params, timer } = options;
  const exclusive = options.exclusive ?? ((fn) => fn());
  const sites = lutSites(shapes, params.nodes, params.ops);
  const opts = { runs: params.lutRuns, warmup: params.warmup, seed: params.seed };
  const lut: LutEntry[] = [];
  const references: Record<string, ReferenceCell> = {};
  // One lock for the whole table and one for the references: short, and per-op locking would let other stages interleave.
  await exclusive(async () => {
    // One untimed pass first: the process's first ops run slow (JIT tiers, kernels met for the first time).
    for (const site of sites) if (site.op !== 'none') await timer.timeOp({ site, runs: 1, warmup: 0, seed: params.seed });
    for (const site of sites) {
      throwIfInterrupted(options.signal, 0, 0);
      // A discrete cell skips a `none` edge entirely, so it costs nothing there.
      const samplesMs = site.op === 'none' ? new Array<number>(params.lutRuns).fill(0) : await timer.timeOp({ site, ...opts });
      lut.push({ ...site, samplesMs });
      options.progress?.({ done: lut.length, total: sites.length, label: `op lut ${lut.length}/${sites.length}` });
    }
  });
  // Every shape's reference, also where reference is off: its warm-up visits warm the process up for the shape.
  await exclusive(async () => {
    for (const [i, shape] of shapes.entries()) {
      throwIfInterrupted(options.signal, 0, 0);
      const choice = referenceChoice(shape, params.ops, params.nodes, params.seed);
      references[shapeKey(shape)] = await calibrateReference(timer, shape, params.ops, choice, params, params.referenceVisits, weightsSeed(params.seed, shape));
      options.progress?.({ done: i + 1, total: shapes.length, label: `reference cells ${i + 1}/${shapes.length}` });
    }
  });
  const calibration = { lut, references };
  await saveCalibration(options.scratchDir, fingerprint, calibration);
  return calibration;
}

function throwIfInterrupted(signal: AbortSignal | undefined, done: number, total: number): void {
  if (!signal?.aborted) return;
  const kept = total > 0 ? `; ${done} of ${total} rows are kept and a re-run resumes from there` : '';
  throw new Error(`dataset-gen was interrupted${kept}`);
}

/** Time left from the mean time per row measured in this run. */
class EtaClock {
  private readonly start = Date.now();
  private done = 0;

  constructor(private readonly todo: number) {}

  tick(): void {
    this.done++;
  }

  label(): string {
    const left = ((Date.now() - this.start) / this.done) * (this.todo - this.done);
    return `~${formatDuration(left)} left`;
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m}m` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
