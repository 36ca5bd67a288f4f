import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import { createRng, UserError, type ProgressEvent } from '@lenna/core';
import { afterEach, describe, expect, test } from 'vitest';
import { ADDITIVE_METADATA_KEY, OPS_METADATA_KEY, probColumnNames, shapeKey } from '@lenna/latency-model';
import { generateDataset } from '../src/generate.js';
import { DatasetGenParamsSchema } from '../src/params.js';
import { FAKE_COST, fakeCellMs, fakeTimer } from './fake-timer.js';

const dirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dataset-gen-gen-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const normal = { reduction: false, reductionPrev: false, cPrevPrev: 6, cPrev: 6, c: 2, hw: 8, batch: 2, kind: 'search' } as const;
const reduction = { reduction: true, reductionPrev: false, cPrevPrev: 6, cPrev: 8, c: 4, hw: 8, batch: 2, kind: 'search' } as const;
const evalNormal = { ...normal, kind: 'eval' } as const;
const base = {
  shapes: [normal, reduction, evalNormal],
  rowsPerShape: 4,
  runs: 2,
  lutRuns: 3,
  referenceVisits: 2,
  maxResets: 6,
  seed: 11,
};
const params = DatasetGenParamsSchema.parse(base);
const MEASURED = ['latency_ms', 'se_ms', 'lut_latency_ms', 'reference_ms', 'resets', 'converged', 'cv'];

function rowsOf(table: Table, skip: string[] = []): Record<string, unknown>[] {
  return table.toArray().map((r) => {
    const row = r.toJSON() as Record<string, unknown>;
    for (const k of skip) delete row[k];
    return row;
  });
}

describe('generateDataset', () => {
  test('columns and types are the documented interface, with the op order and the additive coefficients in the metadata', async () => {
    const { dataset, shapes } = await generateDataset({ params, scratchDir: await scratch(), timer: fakeTimer() });
    const fields = dataset.schema.fields.map((f) => `${f.name}:${String(f.type)}`);
    expect(fields.slice(0, 8)).toEqual([
      'block_type:Utf8', 'reduction_prev:Bool', 'c_prev_prev:Int32', 'c_in:Int32', 'c:Int32', 'hw:Int32', 'batch:Int32', 'cell_kind:Utf8',
    ]);
    const probNames = probColumnNames(14, params.ops);
    expect(fields.slice(8, 8 + 112)).toEqual(probNames.map((n) => `${n}:Float32`));
    expect(fields.slice(120)).toEqual([
      'latency_ms:Float64', 'se_ms:Float64', 'lut_latency_ms:Float64', 'reference_ms:Float64', 'resets:Int32', 'converged:Bool', 'cv:Float64', 'one_hot:Bool', 'radius:Float64',
    ]);
    expect(JSON.parse(dataset.schema.metadata.get(OPS_METADATA_KEY)!)).toEqual(params.ops);
    expect(Object.keys(JSON.parse(dataset.schema.metadata.get(ADDITIVE_METADATA_KEY)!))).toEqual(shapes.map(shapeKey));
    expect(dataset.numRows).toBe(12);
    const rows = rowsOf(dataset);
    expect(rows.map((r) => r.cell_kind)).toEqual([...Array(8).fill('search'), ...Array(4).fill('eval')]);
  });

  test('a label is exact when the cells cost what the op table says: the control variate leaves no spread', async () => {
    const { rows } = await generateDataset({ params, scratchDir: await scratch(), timer: fakeTimer() });
    for (const row of rows) {
      // Every visit's minimum is the cost itself, the reference ratio is exact, and E[additive] is Σ p·LUT.
      expect(row.measured.latencyMs).toBeCloseTo(row.lutLatencyMs, 9);
      expect(row.measured.seMs).toBeCloseTo(0, 9);
      expect(row.measured.resets).toBe(params.minResets);
      expect(row.measured.converged).toBe(true);
    }
  });

  test('eval shapes are timed as eval cells and their rows are discrete (genotype) cells; search cells as search cells', async () => {
    const timer = fakeTimer();
    const { rows } = await generateDataset({ params, scratchDir: await scratch(), timer });
    expect(rows.filter((r) => r.shape.kind === 'eval').every((r) => r.plan.oneHot)).toBe(true);
    expect(rows.filter((r) => r.shape.kind === 'search' && r.plan.oneHot)).toHaveLength(2);
    const kinds = new Set(timer.cells.map((c) => `${c.shape.c}/${c.shape.kind}`));
    expect(kinds).toEqual(new Set(['2/search', '4/search', '2/eval']));
    expect(new Set(timer.ops.map((o) => o.site.kind))).toEqual(new Set(['search', 'eval']));
  });

  test('the gates come from their own stream, not from the one that drew the row’s probabilities', async () => {
    const one = DatasetGenParamsSchema.parse({ ...params, shapes: [normal], rowsPerShape: 1, oneHotFraction: 0, reference: false, minResets: 2, maxResets: 2 });
    const timer = fakeTimer();
    const { rows } = await generateDataset({ params: one, scratchDir: await scratch(), timer });
    const plan = rows[0].plan;
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return [plan.probs.map((p) => rng.categorical(p)), plan.probs.map((p) => rng.categorical(p))];
    };
    const timed = timer.cells.slice(-2).map((c) => c.choice);
    expect(timed).toEqual(draw(plan.gateSeed));
    expect(timed).not.toEqual(draw(plan.seed));
  });

  test('with the reference cell, a machine that slows down over the run does not show in the labels', async () => {
    // Every timing 2% slower than the one before: by the last row the machine is twice as slow.
    const slowdown = (call: number) => 1 + 0.02 * call;
    const soft = { ...params, shapes: [normal], rowsPerShape: 8, oneHotFraction: 0, maxResets: 4 };
    const withReference = await generateDataset({ params: DatasetGenParamsSchema.parse(soft), scratchDir: await scratch(), timer: fakeTimer({ slowdown, extraMs: 1 }) });
    const without = await generateDataset({ params: DatasetGenParamsSchema.parse({ ...soft, reference: false }), scratchDir: await scratch(), timer: fakeTimer({ slowdown, extraMs: 1 }) });
    // The truth: the additive estimate plus the overhead the table misses (the same 1 ms on every cell).
    const ratios = (rows: typeof without.rows) => rows.map((r) => r.measured.latencyMs / (r.lutLatencyMs + 1));
    const spread = (xs: number[]) => Math.max(...xs) / Math.min(...xs);
    // With the reference every label is the truth times one factor (the speed when the reference was
    // calibrated), up to the drift between the two visits of a pair (2% at first, less later): what is
    // left of the labels' spread is a small part of what the drift made without it.
    const [drifted, corrected] = [spread(ratios(without.rows)), spread(ratios(withReference.rows))];
    expect(drifted).toBeGreaterThan(1.4);
    expect(corrected - 1).toBeLessThan(0.15 * (drifted - 1));
  });

  test('rows are measured in a seeded random order, the same for one seed', async () => {
    const orderOf = async (seed: number) => {
      const indices: number[] = [];
      await generateDataset({ params: { ...params, seed }, scratchDir: await scratch(), timer: fakeTimer(), onRow: (row) => indices.push(row.index) });
      return indices;
    };
    const order = await orderOf(11);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
    expect(await orderOf(11)).toEqual(order);
  });

  test('a one-hot row estimate is the sum of its ops and preprocessing in the op-lut', async () => {
    const { rows, opLut } = await generateDataset({ params, scratchDir: await scratch(), timer: fakeTimer() });
    const lut = rowsOf(opLut);
    for (const row of rows.filter((r) => r.plan.oneHot)) {
      const choice = row.plan.probs.map((p) => p.indexOf(1));
      const pre = lut.filter((l) => l.op === 'preprocess_relu_conv_bn' && l.c === row.shape.c && l.hw === row.shape.hw && l.cell_kind === row.shape.kind);
      expect(pre.length).toBeGreaterThan(0);
      // The op table keeps the minimum of its runs (quantile 0): the cost itself.
      expect(row.lutLatencyMs).toBeCloseTo(fakeCellMs({ shape: row.shape, ops: params.ops, choice }), 9);
    }
    expect(FAKE_COST.none).toBe(0);
  });

  test('an interrupted run resumes from the next row and ends with the same table', async () => {
    // Without the reference, a timer 1000 ms slower marks the rows the second run measured.
    const params = DatasetGenParamsSchema.parse({ ...base, reference: false });
    const whole = await generateDataset({ params, scratchDir: await scratch(), timer: fakeTimer() });
    const dir = await scratch();
    const abort = new AbortController();
    const first = fakeTimer();
    const kept: number[] = [];
    await expect(
      generateDataset({ params, scratchDir: dir, timer: first, signal: abort.signal, onRow: (r, done) => (kept.push(r.index), done === 3 && abort.abort()) }),
    ).rejects.toThrow(/interrupted; 3 of 12 rows are kept/);
    const second = fakeTimer({ offsetMs: 1000 });
    const resumed = await generateDataset({ params, scratchDir: dir, timer: second });
    expect(resumed.resumedRows).toBe(3);
    expect(second.ops).toHaveLength(0); // the op table and the references were reused
    expect(rowsOf(resumed.dataset, MEASURED)).toEqual(rowsOf(whole.dataset, MEASURED));
    const latencies = rowsOf(resumed.dataset).map((r) => r.latency_ms as number);
    latencies.forEach((l, i) => expect(kept.includes(i) ? l < 1000 : l >= 1000).toBe(true));
  });

  test('progress counts rows with a time estimate; every timing runs under the lock', async () => {
    const events: ProgressEvent[] = [];
    let locks = 0;
    let inside = false;
    const timer = fakeTimer();
    const guarded = {
      ...timer,
      timeOp: (...a: Parameters<typeof timer.timeOp>) => (expect(inside).toBe(true), timer.timeOp(...a)),
      timeCell: (...a: Parameters<typeof timer.timeCell>) => (expect(inside).toBe(true), timer.timeCell(...a)),
    };
    const exclusive = async <T>(fn: () => Promise<T>) => {
      locks++;
      inside = true;
      try {
        return await fn();
      } finally {
        inside = false;
      }
    };
    await generateDataset({ params, scratchDir: await scratch(), timer: guarded, exclusive, progress: (e) => events.push(e) });
    const rowEvents = events.filter((e) => e.label?.startsWith('rows'));
    expect(rowEvents.map((e) => e.done)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(rowEvents.every((e) => e.total === 12 && /^rows \d+\/12, ~\d+(s|m|h\d+m) left$/.test(e.label!))).toBe(true);
    expect(events.some((e) => e.label?.startsWith('op lut'))).toBe(true);
    expect(events.some((e) => e.label?.startsWith('reference cells'))).toBe(true);
    expect(locks).toBe(14); // the op table, the references, one per row
  });

  test('one-hot rows without none in the op set are a user error naming the params', async () => {
    const bad = DatasetGenParamsSchema.parse({ ...params, ops: ['skip_connect', 'sep_conv_3x3'] });
    const failure = generateDataset({ params: bad, scratchDir: await scratch(), timer: fakeTimer() });
    await expect(failure).rejects.toThrow(/lack 'none'.*oneHotFraction/);
    await expect(failure).rejects.toBeInstanceOf(UserError);
    const ok = DatasetGenParamsSchema.parse({ ...params, ops: ['skip_connect', 'sep_conv_3x3'], oneHotFraction: 0, evalOneHotFraction: 0 });
    const { dataset } = await generateDataset({ params: ok, scratchDir: await scratch(), timer: fakeTimer() });
    expect(dataset.schema.fields.filter((f) => f.name.startsWith('p_'))).toHaveLength(28);
  });

  test('explicit shapes a factorized reduce cannot run are a user error naming the shape', async () => {
    const odd = { reduction: true, reductionPrev: false, cPrevPrev: 6, cPrev: 6, c: 3, hw: 8, batch: 2 };
    const badC = DatasetGenParamsSchema.parse({ ...params, shapes: [params.shapes![0], odd] });
    await expect(generateDataset({ params: badC, scratchDir: await scratch(), timer: fakeTimer() })).rejects.toThrow(/shapes\[1\] has c 3/);
    const badHw = DatasetGenParamsSchema.parse({ ...params, shapes: [{ ...odd, c: 4, hw: 7 }] });
    await expect(generateDataset({ params: badHw, scratchDir: await scratch(), timer: fakeTimer() })).rejects.toThrow(/odd hw 7/);
  });
});
