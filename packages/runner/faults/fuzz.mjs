// fast-check fuzzing of pipeline YAML and --set through the CLI's entry (main), in this process:
// every input either runs the pipeline to the end (exit 0) or is refused with exit 2 and one
// sentence, never a stack trace, and a refused one commits nothing (never a partial run).
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { main } from '../dist/cli.js';
import { fixtures } from './helpers.mjs';

const STAGE_FILES = ['./stages/source/stage.js', './stages/double/stage.js', './stages/sum/stage.js', './stages/gather/stage.js', './stages/nosuch.js', 'report', 'no-such-package', ''];
const PARAM_NAMES = ['size', 'seed', 'factor', 'offset', 'x', 'lambda', ''];
const smallValue = fc.oneof(fc.integer({ min: -50, max: 50 }), fc.double({ noNaN: false }), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }));
const stageId = fc.oneof(fc.constantFrom('source', 'left', 'right', 'join', 'a-b', '9x'), fc.string({ maxLength: 6 }));

const stageEntry = fc.record(
  {
    uses: fc.oneof(fc.constantFrom(...STAGE_FILES), fc.string({ maxLength: 10 }), smallValue),
    needs: fc.dictionary(fc.constantFrom('data', 'a', 'b', 'runs', 'x'), fc.oneof(fc.constantFrom('source.data', 'left.data', 'right.data', 'nosuch.data', 'source.data[*]', 'left'), fc.string({ maxLength: 12 })), { maxKeys: 2 }),
    params: fc.dictionary(fc.constantFrom(...PARAM_NAMES), smallValue, { maxKeys: 3 }),
    matrix: fc.dictionary(fc.constantFrom(...PARAM_NAMES), fc.oneof(fc.array(smallValue, { maxLength: 3 }), smallValue), { maxKeys: 1 }),
    timeout: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.string({ maxLength: 4 })),
    junk: smallValue,
  },
  { requiredKeys: ['uses'] },
);

const pipelineObject = fc.record(
  {
    name: fc.oneof(fc.constant('fuzz'), smallValue),
    params: fc.dictionary(fc.constantFrom('seed', 'x', ''), smallValue, { maxKeys: 2 }),
    stages: fc.oneof(fc.dictionary(stageId, stageEntry, { minKeys: 1, maxKeys: 4 }), smallValue),
    extra: smallValue,
  },
  { requiredKeys: ['stages'] },
);

/** Pipeline texts: structured pipelines, edits of a real one, and arbitrary text. */
function pipelineTexts(basic) {
  const edited = fc.tuple(fc.nat({ max: basic.length }), fc.nat({ max: 8 }), fc.string({ maxLength: 8 })).map(([at, cut, insert]) => basic.slice(0, at) + insert + basic.slice(at + cut));
  return fc.oneof(pipelineObject.map((p) => stringify(p)), edited, fc.string({ maxLength: 200 }), fc.constant(''), fc.constant('stages:\n  a: [\n'));
}

const setTexts = fc.oneof(
  fc.tuple(fc.constantFrom('left', 'right', 'source', 'join', 'params', 'nosuch', ''), fc.constantFrom('factor', 'seed', 'size', 'offset', 'bogus', 'factor.x', ''), fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('3', '1,2', '[1,2]', '{a: 1}', 'null', '"x', '1,,2', 'true', '-0', '1e400'))).map(
    ([stage, param, value]) => `${stage}.${param}=${value}`,
  ),
  fc.string({ maxLength: 30 }),
);

/** Runs main(argv) in the workspace, capturing what it writes. */
async function lennaInProcess(dir, argv) {
  const out = [];
  const err = [];
  const saved = { out: process.stdout.write, err: process.stderr.write, cwd: process.cwd() };
  process.stdout.write = (chunk) => (out.push(String(chunk)), true);
  process.stderr.write = (chunk) => (err.push(String(chunk)), true);
  process.chdir(dir);
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.chdir(saved.cwd);
  }
}

async function objectCount(store) {
  return (await readdir(join(store, 'objects')).catch(() => [])).length;
}

/** Exit 0, or exit 2 with one line and nothing committed. Returns what is wrong, or undefined. */
async function judge(ws, argv, tally) {
  const before = await objectCount(ws.store);
  const r = await lennaInProcess(ws.dir, argv);
  const lines = r.stderr.trim().split('\n').filter(Boolean);
  tally[r.code === 0 ? 'ran' : 'refused'] += 1;
  if (r.code === 0) return undefined;
  if (r.code !== 2) return `exit ${r.code}: ${r.stderr.slice(0, 400)}`;
  if (lines.length !== 1 || !lines[0].startsWith('lenna: ')) return `not one sentence: ${JSON.stringify(r.stderr.slice(0, 400))}`;
  if (/internal error|\n\s+at /.test(r.stderr)) return `a stack trace: ${r.stderr.slice(0, 400)}`;
  if ((await objectCount(ws.store)) !== before) return 'exit 2, but artifacts were committed (a partial run)';
  return undefined;
}

export async function fuzzCases({ ws, runs, seed }) {
  const saved = process.env.LENNA_STORE;
  process.env.LENNA_STORE = ws.store;
  const basic = await (await import('node:fs/promises')).readFile(join(fixtures, 'basic.yaml'), 'utf8');
  const cases = [];
  try {
    for (const [name, arbitrary, argvOf] of [
      ['fuzzed pipeline YAML', pipelineTexts(basic), async (text) => (await writeFile(join(ws.dir, 'fuzz.yaml'), text), ['run', 'fuzz.yaml', '--jobs', '2'])],
      ['fuzzed --set', fc.array(setTexts, { minLength: 1, maxLength: 2 }), async (sets) => ['run', 'basic.yaml', '--jobs', '2', ...sets.flatMap((s) => ['--set', s])]],
    ]) {
      const tally = { ran: 0, refused: 0 };
      const result = await fc.check(
        fc.asyncProperty(arbitrary, async (input) => {
          const problem = await judge(ws, await argvOf(input), tally);
          if (problem) throw new Error(problem);
        }),
        { numRuns: runs, seed },
      );
      const problems = result.failed ? [`${result.counterexample ? JSON.stringify(result.counterexample[0]).slice(0, 300) : ''}: ${String(result.errorInstance?.message ?? result.error).slice(0, 600)}`] : [];
      cases.push({ name: `${name} (${runs} inputs, fast-check seed ${seed}: ${tally.ran} ran to the end, ${tally.refused} refused)`, problems });
    }
  } finally {
    if (saved === undefined) delete process.env.LENNA_STORE;
    else process.env.LENNA_STORE = saved;
  }
  return cases;
}
