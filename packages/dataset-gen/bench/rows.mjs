// Benchmark (not a test): time the quickstart data set's rows per shape and compare the measured
// latency with the additive lookup-table estimate. `node bench/rows.mjs [--rows N] [--json]`
// (build first: `npx nx build dataset-gen`). With --json the last line is a JSON array.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@lenna/compute';
import { generateDataset } from '../dist/generate.js';
import { createTfjsTimer } from '@lenna/measure-target';
import { DatasetGenParamsSchema } from '../dist/params.js';
import { plannedShapes } from '../dist/shapes.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const rowsAt = args.indexOf('--rows');
const rowsPerShape = rowsAt >= 0 ? Number(args[rowsAt + 1]) : 4;

const backend = await initBackend({ quiet: true });
const params = DatasetGenParamsSchema.parse({ rowsPerShape });
const timer = await createTfjsTimer({ clock: params.clock });
const shapes = plannedShapes(params);
const scratchDir = mkdtempSync(join(tmpdir(), 'dataset-gen-bench-'));
const start = performance.now();
const cpuStart = process.cpuUsage();
let lutSeconds = 0;
let last = start;
const rowMs = new Map();
try {
  const result = await generateDataset({
    params,
    scratchDir,
    timer,
    progress: (e) => {
      if (e.label?.startsWith('op lut') && e.done === e.total) {
        lutSeconds = (performance.now() - start) / 1000;
        last = performance.now();
      }
    },
    onRow: (row) => {
      const now = performance.now();
      // Rows are measured in a shuffled order: charge each row's time to its shape.
      const s = Math.floor(row.index / rowsPerShape);
      rowMs.set(s, (rowMs.get(s) ?? 0) + now - last);
      last = now;
    },
  });
  const totalSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const results = shapes.map((shape, s) => {
    const rows = result.rows.filter((r) => r.plan.shapeIndex === s);
    const mean = (f) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
    return {
      shape: `${shape.kind} ${shape.reduction ? 'R' : 'N'} c${shape.cPrevPrev}/${shape.cPrev}->${shape.c} hw${shape.hw} b${shape.batch}`,
      backend: backend.name,
      msPerRow: rowMs.get(s) / rows.length,
      latencyMs: mean((r) => r.measured.latencyMs),
      lutLatencyMs: mean((r) => r.lutLatencyMs),
      additiveMape: mean((r) => Math.abs(r.lutLatencyMs - r.measured.latencyMs) / r.measured.latencyMs),
      resets: mean((r) => r.measured.resets),
      relativeSe: mean((r) => (r.measured.seMs ?? NaN) / r.measured.latencyMs),
      converged: rows.filter((r) => r.measured.converged).length / rows.length,
      cv: mean((r) => r.measured.cv),
    };
  });
  console.log(`backend ${backend.name}; ${shapes.length} shapes x ${rowsPerShape} rows; op lut ${lutSeconds.toFixed(1)} s (${result.lut.length} sites); total ${totalSeconds.toFixed(1)} s wall, ${cpuSeconds.toFixed(1)} s cpu (on a busy machine the cpu time is the better guess of an idle run)`);
  console.log(['shape'.padEnd(36), 'ms/row', 'lat ms', 'lut ms', 'add.MAPE', 'resets', 'se', 'conv', 'cv'].join('\t'));
  for (const r of results) {
    console.log([r.shape.padEnd(36), r.msPerRow.toFixed(0), r.latencyMs.toFixed(2), r.lutLatencyMs.toFixed(2), `${(100 * r.additiveMape).toFixed(0)}%`, r.resets.toFixed(1), `${(100 * r.relativeSe).toFixed(1)}%`, r.converged.toFixed(2), r.cv.toFixed(2)].join('\t'));
  }
  const defaultRows = shapes.length * DatasetGenParamsSchema.parse({}).rowsPerShape;
  const scale = (seconds) => ((seconds * defaultRows) / result.rows.length / 60).toFixed(1);
  console.log(`the default run (${defaultRows} rows) would take about ${scale(totalSeconds)} min wall / ${scale(cpuSeconds)} min cpu at this rate`);
  if (json) console.log(JSON.stringify(results));
} finally {
  await timer.close();
  rmSync(scratchDir, { recursive: true, force: true });
}
