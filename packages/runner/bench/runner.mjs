#!/usr/bin/env node
// Benchmark of the runner: a no-op re-run of a six-stage pipeline whose artifacts total ~100 MB
// (spawning `node bin/lenna.js run`, so Node's start-up counts), and hashFile throughput.
// Usage: node bench/runner.mjs [--json]   (build first: npx nx build runner)
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hashFile } from '@lenna/core';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const lennaBin = resolve(here, '../bin/lenna.js');
const repoRoot = resolve(here, '../../..');
const json = process.argv.includes('--json');
const STAGE_BYTES = 17_000_000;
const RERUNS = 5;

function pipelineYaml() {
  const lines = ['name: bench', 'stages:', '  s0:', '    uses: ./stages/source/stage.js', `    params: { bytes: ${STAGE_BYTES} }`];
  for (let i = 1; i < 6; i++) {
    lines.push(`  s${i}:`, '    uses: ./stages/double/stage.js', `    needs: { data: s${i - 1}.data }`, `    params: { factor: ${i + 1}, bytes: ${STAGE_BYTES} }`);
  }
  return lines.join('\n') + '\n';
}

async function lenna(dir, args) {
  const started = performance.now();
  await run(process.execPath, [lennaBin, ...args], { cwd: dir, env: { ...process.env, LENNA_STORE: join(dir, 'store') } });
  return performance.now() - started;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchNoopRerun(dir) {
  await cp(resolve(here, '../test/fixtures/stages'), join(dir, 'stages'), { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'bench.yaml'), pipelineYaml());
  const firstRunMs = await lenna(dir, ['run', 'bench.yaml']);
  const times = [];
  for (let i = 0; i < RERUNS; i++) times.push(await lenna(dir, ['run', 'bench.yaml']));
  return { firstRunMs, noopRerunMs: median(times) };
}

async function benchHash(dir) {
  const file = join(dir, 'hash.bin');
  const size = 256 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 255;
  await writeFile(file, Buffer.concat(Array.from({ length: size / chunk.length }, () => chunk)));
  const rates = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await hashFile(file);
    rates.push(size / 1e6 / ((performance.now() - started) / 1000));
  }
  return { hashMBps: Math.max(...rates) };
}

const dir = await mkdtemp(join(tmpdir(), 'lenna-bench-'));
try {
  const { firstRunMs, noopRerunMs } = await benchNoopRerun(dir);
  const { hashMBps } = await benchHash(dir);
  const rows = [
    ['first run, 6 stages, ~100 MB of artifacts', `${firstRunMs.toFixed(0)} ms`, ''],
    [`no-op re-run (median of ${RERUNS}, incl. Node start-up)`, `${noopRerunMs.toFixed(0)} ms`, 'goal <= 1000 ms'],
    ['hashFile throughput (256 MB file, best of 3)', `${hashMBps.toFixed(0)} MB/s`, 'goal >= 500 MB/s'],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [what, value, goal] of rows) console.log(`${what.padEnd(width)}  ${value.padStart(10)}  ${goal}`);
  if (json) console.log(JSON.stringify({ noopRerunMs: Math.round(noopRerunMs), hashMBps: Math.round(hashMBps) }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
