// Crashes, corruption and concurrency over a small sweep of the runner's fixture stages.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, flipBit, leftoverProcesses, litter, lockProblems, oneSentenceProblems, outputsOf, workspace } from './helpers.mjs';

const SEEDS = [1, 2, 3];
const seedArgs = (seed) => ['--set', `source.seed=${seed}`];

/** The sweep as an uninterrupted run makes it, per seed: instance -> outputs. */
export async function referenceRuns() {
  const ws = await workspace('reference');
  const reference = new Map();
  let seconds = 0;
  for (const seed of SEEDS) {
    const started = performance.now();
    const r = await ws.lenna(['run', 'sweep.yaml', '--jobs', '2', '--json', ...seedArgs(seed)]);
    if (r.code !== 0) throw new Error(`the reference run failed: ${r.stderr}`);
    seconds = Math.max(seconds, (performance.now() - started) / 1000);
    reference.set(seed, outputsOf(r.stdout));
  }
  return { reference, seconds };
}

/** Runs the sweep for each seed to its end; returns every instance whose outputs differ from the reference's. */
async function compareWithReference(ws, reference, seeds = SEEDS) {
  const lost = [];
  for (const seed of seeds) {
    const r = await ws.lenna(['run', 'sweep.yaml', '--jobs', '2', '--json', ...seedArgs(seed)]);
    lost.push(...differences(r, reference, seed));
  }
  return lost;
}

function differences(run, reference, seed) {
  if (run.code !== 0) return [`seed ${seed}: the run exited ${run.code}: ${run.stderr.trim().split('\n').pop()}`];
  const got = outputsOf(run.stdout);
  return Object.entries(reference.get(seed))
    .filter(([id, outputs]) => JSON.stringify(got[id]) !== JSON.stringify(outputs))
    .map(([id, outputs]) => `seed ${seed}: ${id} ${JSON.stringify(got[id])} != ${JSON.stringify(outputs)}`);
}

/** The checks after every fault: no stage process left, lock file parses, verify passes, no unsweepable litter. */
async function afterFault(ws) {
  const problems = [];
  const gone = await eventually(() => leftoverProcesses(ws).length === 0, 10_000);
  if (!gone) problems.push(`processes left 10 s after the kill: ${leftoverProcesses(ws).join(', ')}`);
  problems.push(...(await lockProblems(ws, 'sweep.lock.json')));
  const verify = await ws.lenna(['verify']);
  if (verify.code !== 0) problems.push(`lenna verify exited ${verify.code}: ${verify.stdout.trim()}`);
  const left = await litter(ws, { strict: false });
  if (left.length) problems.push(`litter no run will clean: ${left.join(', ')}`);
  return problems;
}

export async function sigkillCases({ iterations, random, reference, refSeconds }) {
  const ws = await workspace('sigkill');
  const cases = [];
  for (let i = 0; i < iterations; i++) {
    const seed = SEEDS[i % SEEDS.length];
    const force = random() < 0.5 ? ['--force', 'scale'] : [];
    const killAt = Math.round(50 + random() * refSeconds * 1000);
    const child = ws.spawn(['run', 'sweep.yaml', '--jobs', '2', ...seedArgs(seed), ...force]);
    await new Promise((r) => setTimeout(r, killAt));
    child.kill('SIGKILL');
    await child;
    const problems = await afterFault(ws);
    cases.push({ name: `SIGKILL of lenna run at ${killAt} ms (seed ${seed}${force.length ? ', --force scale' : ''})`, problems });
  }
  const lost = await compareWithReference(ws, reference);
  const strict = await litter(ws, { strict: true });
  const tmp = await readdir(join(ws.store, 'tmp')).catch(() => []);
  cases.push({
    name: `after ${iterations} kills: final runs equal an uninterrupted run's, nothing left over`,
    problems: [...lost, ...(strict.length ? [`left over: ${strict.join(', ')}`] : []), ...(tmp.length ? [`tmp/ holds ${tmp.join(', ')}`] : [])],
    lost: lost.length,
  });
  return cases;
}

export async function concurrencyCases({ reference }) {
  const cases = [];
  for (const n of [2, 3]) {
    const ws = await workspace(`concurrent${n}`);
    const runs = await Promise.all(Array.from({ length: n }, (_, k) => ws.lenna(['run', 'sweep.yaml', '--jobs', '2', ...seedArgs(SEEDS[k % 2])])));
    const problems = runs.filter((r) => r.code !== 0).map((r) => `a run exited ${r.code}: ${r.stderr.trim()}`);
    problems.push(...(await afterFault(ws)));
    const lost = await compareWithReference(ws, reference, SEEDS.slice(0, 2));
    problems.push(...lost);
    cases.push({ name: `${n} concurrent lenna run on one store`, problems, lost: lost.length });
  }
  return cases;
}

/** Bit flips in an object, a cache record and the lock file, then a run: rebuilt, or one sentence. */
export async function byteFlipCases({ rounds, random, reference }) {
  const cases = [];
  const ws = await workspace('flips');
  const seed = SEEDS[0];
  const prime = await ws.lenna(['run', 'sweep.yaml', '--jobs', '2', ...seedArgs(seed)]);
  if (prime.code !== 0) throw new Error(`the flip workspace's first run failed: ${prime.stderr}`);
  for (let round = 0; round < rounds; round++) {
    for (const target of ['object', 'cache record', 'lock file']) {
      const file = await pick(ws, target, random);
      const at = await flipBit(file, random);
      let run = await ws.lenna(['run', 'sweep.yaml', '--jobs', '2', '--json', ...seedArgs(seed)]);
      const problems = [];
      if (run.code === 2 && target === 'lock file') {
        // A lock file that no longer parses: one sentence naming it and the fix; following the fix loses nothing.
        problems.push(...oneSentenceProblems(run.stderr));
        if (!/sweep\.lock\.json/.test(run.stderr)) problems.push(`the message does not name the lock file: ${run.stderr}`);
        await rm(join(ws.dir, 'sweep.lock.json'));
        run = await ws.lenna(['run', 'sweep.yaml', '--jobs', '2', '--json', ...seedArgs(seed)]);
      }
      const lost = differences(run, reference, seed);
      problems.push(...lost, ...(await afterFault(ws)));
      cases.push({ name: `bit flip in ${target} ${file.slice(ws.dir.length + 1)} at byte ${at}`, problems, lost: lost.length });
    }
  }
  return cases;
}

async function pick(ws, target, random) {
  const choose = (list) => list[Math.floor(random() * list.length)];
  if (target === 'lock file') return join(ws.dir, 'sweep.lock.json');
  if (target === 'cache record') {
    const names = (await readdir(join(ws.store, 'cache'))).filter((n) => n.endsWith('.json'));
    return join(ws.store, 'cache', choose(names));
  }
  const ids = await readdir(join(ws.store, 'objects'));
  const id = choose(ids);
  const files = await readdir(join(ws.store, 'objects', id));
  return join(ws.store, 'objects', id, choose(files));
}
