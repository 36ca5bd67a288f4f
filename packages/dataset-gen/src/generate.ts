import type { Table } from 'apache-arrow';
import type { ProgressEvent } from '@lenna/core';
import type { LatencyProtocolOptions } from '@lenna/compute';
import { datasetTable, type DatasetRow, type MeasuredRow } from './columns.js';
import { additiveEstimateMs, lutSites, OpLookupTable, opLutTable, type LutEntry } from './lut.js';
import { edgeCount, type BatchedCellShape } from '@lenna/latency-model';
import type { DatasetGenParams } from './params.js';
import { loadLutCheckpoint, planFingerprint, RowLog, saveLutCheckpoint } from './resume.js';
import { planRow, type RowPlanOptions } from './sampling.js';
import { plannedShapes, type OpSite } from './shapes.js';
import { checkExplicitShapes, checkOpSet } from './validate.js';

/** compute's protocol options; `seed` also seeds the cells' weights. */
export type CellProtocol = LatencyProtocolOptions;

export interface CellMeasurement {
  meanMs: number;
  resets: number;
  converged: boolean;
  cv: number;
}

/** What does the timing; the stage uses tfjs (`createTfjsMeasurer`), tests may use a model of cost. */
export interface Measurer {
  /** Timings (ms) of one op alone at this site, `runs` of them after `warmup`. */
  timeOp(site: OpSite, opts: { runs: number; warmup: number; seed: number }): Promise<number[]>;
  /** Expected latency of a cell of `shape` whose op per edge is sampled from `probs` (LENNA's protocol). */
  measureCell(shape: BatchedCellShape, ops: readonly string[], nodes: number, probs: number[][], protocol: CellProtocol): Promise<CellMeasurement>;
  /** Untimed runs before the first row of a shape (called under the lock). */
  warmUp?(shape: BatchedCellShape, ops: readonly string[], nodes: number, seed: number): Promise<void>;
}

export interface GenerateOptions {
  params: DatasetGenParams;
  scratchDir: string;
  measurer: Measurer;
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
  /** Rows found in the scratch log and not measured again. */
  resumedRows: number;
}

export async function generateDataset(options: GenerateOptions): Promise<GeneratedDataset> {
  const { params } = options;
  checkOpSet(params);
  checkExplicitShapes(params.shapes);
  const shapes = plannedShapes(params);
  const fingerprint = planFingerprint(params);
  const lutEntries = await measureLut(options, shapes, fingerprint);
  const lut = new OpLookupTable(lutEntries, params.quantile);

  const planOptions: RowPlanOptions = { ...params, ops: params.ops };
  const total = shapes.length * params.rowsPerShape;
  const log = await RowLog.open(options.scratchDir, fingerprint);
  const resumedRows = log.rows.size;
  if (resumedRows > 0) options.log?.(`resuming: ${resumedRows} of ${total} rows already measured`);
  try {
    await measureRows(options, shapes, planOptions, total, log);
  } finally {
    await log.close();
  }

  const rows: DatasetRow[] = [];
  for (let index = 0; index < total; index++) {
    const plan = planRow(planOptions, index);
    const shape = shapes[plan.shapeIndex];
    const lutLatencyMs = additiveEstimateMs(shape, plan.probs, params.ops, params.nodes, lut);
    rows.push({ plan, shape, measured: log.rows.get(index)!, lutLatencyMs });
  }
  return {
    dataset: datasetTable(rows, params.ops, edgeCount(params.nodes)),
    opLut: opLutTable(lutEntries),
    rows,
    lut: lutEntries,
    shapes,
    resumedRows,
  };
}

async function measureRows(
  options: GenerateOptions,
  shapes: BatchedCellShape[],
  planOptions: RowPlanOptions,
  total: number,
  log: RowLog,
): Promise<void> {
  const { params, measurer } = options;
  const exclusive = options.exclusive ?? ((fn) => fn());
  const eta = new EtaClock(total - log.rows.size);
  const warmed = new Set<number>();
  for (let index = 0; index < total; index++) {
    if (log.rows.has(index)) continue;
    throwIfInterrupted(options.signal, log.rows.size, total);
    const plan = planRow(planOptions, index);
    const shape = shapes[plan.shapeIndex];
    const protocol = cellProtocol(params, plan.seed);
    const m = await exclusive(async () => {
      if (!warmed.has(plan.shapeIndex)) await measurer.warmUp?.(shape, params.ops, params.nodes, plan.seed);
      warmed.add(plan.shapeIndex);
      return measurer.measureCell(shape, params.ops, params.nodes, plan.probs, protocol);
    });
    const row: MeasuredRow = { index, latencyMs: m.meanMs, resets: m.resets, converged: m.converged, cv: m.cv };
    await log.append(row);
    eta.tick();
    const done = log.rows.size;
    options.progress?.({ done, total, label: `rows ${done}/${total}, ${eta.label()}` });
    options.onRow?.(row, done, total);
  }
}

export function cellProtocol(params: DatasetGenParams, seed: number): CellProtocol {
  const { runs, quantile, threshold, hits, maxResets, warmup } = params;
  return { runs, quantile, threshold, hits, maxResets, warmup, seed };
}

async function measureLut(options: GenerateOptions, shapes: BatchedCellShape[], fingerprint: string): Promise<LutEntry[]> {
  const saved = await loadLutCheckpoint(options.scratchDir, fingerprint);
  if (saved) return saved;
  const { params, measurer } = options;
  const exclusive = options.exclusive ?? ((fn) => fn());
  const sites = lutSites(shapes, params.nodes, params.ops);
  const opts = { runs: params.lutRuns, warmup: params.warmup, seed: params.seed };
  const entries: LutEntry[] = [];
  // One lock for the whole table: it is short, and per-op locking would let other stages interleave.
  await exclusive(async () => {
    // One untimed pass first: the process's first ops run slow (JIT tiers, kernels met for the first time).
    for (const site of sites) await measurer.timeOp(site, { runs: 1, warmup: 0, seed: params.seed });
    for (const site of sites) {
      throwIfInterrupted(options.signal, 0, 0);
      entries.push({ ...site, samplesMs: await measurer.timeOp(site, opts) });
      options.progress?.({ done: entries.length, total: sites.length, label: `op lut ${entries.length}/${sites.length}` });
    }
  });
  await saveLutCheckpoint(options.scratchDir, fingerprint, entries);
  return entries;
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
