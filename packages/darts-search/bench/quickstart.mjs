// Runs the stage with its default params (MNIST, λ = 0 unless given) and reports the wall time.
// Usage: node bench/quickstart.mjs [--json] [--lambda 0] [--model <predictor model folder>]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStageInProcess } from '@lenna/core';
import { stage } from '../dist/index.js';

const args = process.argv.slice(2);
const arg = (name) => (args.indexOf(`--${name}`) >= 0 ? args[args.indexOf(`--${name}`) + 1] : undefined);
const dir = await mkdtemp(join(tmpdir(), 'darts-quickstart-'));
const model = arg('model');
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await runStageInProcess(stage, {
  params: { lambda: Number(arg('lambda') ?? 0) },
  inputs: model ? { model } : {},
  stagingDir: dir,
  onEvent: (m) => m.type === 'log' && console.log(m.message),
});
const cpu = process.cpuUsage(cpu0);
const summary = JSON.parse(await readFile(join(dir, 'summary', 'summary.json'), 'utf8'));
const result = { wall_s: (performance.now() - t0) / 1000, cpu_s: (cpu.user + cpu.system) / 1e6, search_seconds: summary.search_seconds, expected_latency_ms: summary.expected_latency_ms, genotype_latency_ms: summary.genotype_latency_ms, genotype: summary.genotype_text };
console.log(`quickstart darts-search (defaults): wall ${result.wall_s.toFixed(1)} s, process CPU ${result.cpu_s.toFixed(1)} s`);
if (args.includes('--json')) console.log(JSON.stringify(result));
await rm(dir, { recursive: true, force: true });
