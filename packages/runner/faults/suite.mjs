#!/usr/bin/env node
// The fault suite: LENNA's guarantees (README, "What LENNA guarantees") checked by breaking things.
// Usage: npm run test:faults [-- --json] [-- --seed N] [-- --quick] [-- --only <group>]   (build first: npm run build)
// Prints one line per case; with --json the last line is {"cases": n, "passed": n, "artifactsLost": n}.
// Exit status 1 if any case failed. Skipped cases (disk full without root) print why, in one line.
import { archiveCases, bigExportCase } from './archives.mjs';
import { byteFlipCases, concurrencyCases, referenceRuns, sigkillCases } from './crash.mjs';
import { diskCases } from './disk.mjs';
import { fuzzCases } from './fuzz.mjs';
import { removeWorkspaces, seededRandom, workspace } from './helpers.mjs';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : Math.floor(Math.random() * 2 ** 31);
const random = seededRandom(seed);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;

const results = [];
const started = performance.now();

function report(group, cases) {
  for (const c of cases) {
    results.push(c);
    const status = c.skipped ? 'SKIP' : c.problems.length ? 'FAIL' : 'ok  ';
    process.stdout.write(`${status}  ${group}: ${c.name}${c.skipped ? ` — ${c.skipped}` : ''}\n`);
    for (const p of c.problems ?? []) process.stdout.write(`        ${p}\n`);
  }
}

async function group(name, run) {
  if (only && only !== name) return;
  const t = performance.now();
  try {
    report(name, await run());
  } catch (error) {
    report(name, [{ name: 'the case itself crashed', problems: [error instanceof Error ? (error.stack ?? error.message) : String(error)] }]);
  }
  process.stdout.write(`        (${name}: ${((performance.now() - t) / 1000).toFixed(0)} s)\n`);
}

process.stdout.write(`lenna fault suite, seed ${seed} (replay with --seed ${seed})\n`);
try {
  const needsReference = !only || ['crash', 'corruption', 'concurrency'].includes(only);
  const { reference, seconds } = needsReference ? await referenceRuns() : { reference: new Map(), seconds: 0 };
  await group('crash', () => sigkillCases({ iterations: quick ? 4 : 15, random, reference, refSeconds: seconds }));
  await group('corruption', () => byteFlipCases({ rounds: quick ? 1 : 3, random, reference }));
  await group('concurrency', () => concurrencyCases({ reference }));
  await group('disk', () => diskCases());
  await group('fuzz', async () => fuzzCases({ ws: await workspace('fuzz'), runs: quick ? 30 : 150, seed }));
  await group('archives', async () => archiveCases({ ws: await workspace('archives') }));
  if (!quick) await group('archives', async () => [await bigExportCase({ source: await workspace('big-a'), target: await workspace('big-b') })]);
} finally {
  await removeWorkspaces();
}

const ran = results.filter((r) => !r.skipped);
const passed = ran.filter((r) => r.problems.length === 0).length;
const lost = results.reduce((sum, r) => sum + (r.lost ?? 0), 0);
const minutes = ((performance.now() - started) / 60_000).toFixed(1);
process.stdout.write(`${passed} of ${ran.length} cases passed, ${results.length - ran.length} skipped, ${lost} artifact(s) lost, in ${minutes} min.\n`);
if (json) process.stdout.write(`${JSON.stringify({ cases: ran.length, passed, artifactsLost: lost })}\n`);
process.exitCode = passed === ran.length ? 0 : 1;
