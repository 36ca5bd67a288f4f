import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tableFromRows, writeArrowFile, writeSafetensorsFile } from '@lenna/core';
import { parse as parseYaml } from 'yaml';
import { byId, makeWorkspace, removeWorkspaces, repoRoot, states } from './helpers.js';

afterAll(removeWorkspaces);

/** The trace's lines as [instance, what, ms]. */
function traceLines(text: string): [string, string, number][] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .map(([id, what, ms]) => [id, what, Number(ms)]);
}

describe('sweeps', () => {
  it('runs every instance, gathers them, and re-uses them when the sweep narrows; the environment keys measuring stages only', async () => {
    const ws = await makeWorkspace();
    const tracePath = join(ws.dir, 'trace.txt');
    const run = await ws.lenna(['run', 'sweep.yaml', '--json', '--jobs', '2'], { env: { LENNA_FIXTURE_TRACE: tracePath } });
    expect(run.exitCode, run.stderr).toBe(0);
    // While a measuring stage times (inside ctx.exclusive), no other stage makes a step.
    const lines = traceLines(await readFile(tracePath, 'utf8'));
    const holds = lines.filter(([, what]) => what === 'hold');
    expect(holds).toHaveLength(3);
    for (const [id, , from] of holds) {
      const to = lines.find(([other, what]) => other === id && what === 'unhold')?.[2] as number;
      const during = lines.filter(([other, , ms]) => other !== id && ms > from && ms < to);
      expect(during, `${id} held the machine from ${from} to ${to}`).toEqual([]);
    }
    expect(Object.keys(states(run.stdout))).toEqual([
      'source',
      'scale@factor=1',
      'scale@factor=2',
      'scale@factor=3',
      'timing@factor=1',
      'timing@factor=2',
      'timing@factor=3',
      'collect',
    ]);
    expect(Object.values(states(run.stdout)).every((s) => s === 'ran')).toBe(true);
    const summaryId = byId(run.stdout).collect.outputs.summary;
    const summary = JSON.parse(await readFile(join(ws.store, 'objects', summaryId, 'summary.json'), 'utf8')) as { values: number[] }[];
    expect(summary.map((r) => r.values)).toEqual([[0, 1, 2], [0, 2, 4], [0, 3, 6]]);

    // compare: one table of an output's rows across the sweep, instances in sweep order.
    const timings = await ws.lenna(['compare', 'sweep.yaml', 'timing.timing/timing.json', '--json']);
    expect(JSON.parse(timings.stdout).rows).toEqual([1, 2, 3].map((factor) => ({ factor, runs: 3 })));
    const table = await ws.lenna(['compare', 'sweep.yaml', 'scale.data']);
    expect(table.stdout.split('\n').slice(0, 4)).toEqual(['| factor | value |', '| ---: | ---: |', '| 1 | 0 |', '| 1 | 1 |']);
    expect(table.stdout.trim().split('\n')).toHaveLength(2 + 9);
    const noColumn = await ws.lenna(['compare', 'sweep.yaml', 'timing.timing', '--columns', 'runs,ms']);
    expect([noColumn.exitCode, noColumn.stderr.trim()]).toEqual([2, 'lenna: lenna compare: no column ms; the file has: runs.']);
    const noStage = await ws.lenna(['compare', 'sweep.yaml', 'train.metrics']);
    expect(noStage.stderr).toMatch(/has no finished instance of stage 'train'; it has: collect, scale, source, timing\.$/m);

    const narrowed = await ws.lenna(['run', 'sweep.yaml', '--set', 'scale.factor=2,3', '--dry-run', '--json']);
    const n = byId(narrowed.stdout);
    expect(Object.keys(n)).toEqual(['source', 'scale@factor=2', 'scale@factor=3', 'timing@factor=2', 'timing@factor=3', 'collect']);
    expect(n['scale@factor=3'].state).toBe('cached');
    expect(n.collect.state).toBe('to-run');
    expect(n.collect.reasons[0]).toMatch(/^input runs changed \(\[.*\] -> \[.*\]\)$/);

    const otherMachine = await ws.lenna(['status', 'sweep.yaml', '--json'], { env: { LENNA_FIXTURE_BACKEND: 'wasm' } });
    const o = byId(otherMachine.stdout);
    expect(o['scale@factor=1'].state).toBe('cached');
    expect(o['timing@factor=1']).toMatchObject({ state: 'to-run', reasons: ['cache key changed (environment or external files of measure)'] });
  });
});

describe('lenna show, stage, gc, dag', () => {
  it('shows files and artifacts in the documented JSON shapes; gc removes what no lock file references; dag', async () => {
    const ws = await makeWorkspace();
    await writeArrowFile(join(ws.dir, 't.arrow'), tableFromRows([{ a: 1, s: 'x' }, { a: 2, s: 'y' }, { a: 3, s: 'z' }]));
    await writeSafetensorsFile(join(ws.dir, 'w.safetensors'), { w: { dtype: 'F32', shape: [2], data: new Float32Array([0.5, -1]) } }, { note: 'hi' });
    await writeFile(join(ws.dir, 'v.json'), '{"k":[1,2]}');
    const arrow = JSON.parse((await ws.lenna(['show', 't.arrow', '--json', '--limit', '2'])).stdout);
    expect(arrow.kind).toBe('arrow');
    expect(arrow.schema.map((c: { name: string }) => c.name)).toEqual(['a', 's']);
    expect(arrow.rows).toEqual([{ a: 1, s: 'x' }, { a: 2, s: 'y' }]);
    const st = JSON.parse((await ws.lenna(['show', 'w.safetensors', '--json'])).stdout);
    expect(st).toEqual({ kind: 'safetensors', metadata: { note: 'hi' }, tensors: { w: { dtype: 'F32', shape: [2], values: [0.5, -1] } } });
    expect(JSON.parse((await ws.lenna(['show', 'v.json', '--json'])).stdout)).toEqual({ kind: 'json', value: { k: [1, 2] } });
    expect((await ws.lenna(['show', 'w.safetensors'])).stdout).toMatch(/w\s+F32\s+\[2\]/);

    const run = await ws.lenna(['run', 'basic.yaml', '--json']);
    const id = byId(run.stdout).join.outputs.data;
    const artifact = JSON.parse((await ws.lenna(['show', id, '--json'])).stdout);
    expect(artifact.id).toBe(id);
    expect(artifact.manifest).toMatchObject({ id, stage: 'sum', output: 'data', instance: 'join' });
    expect(artifact.files).toEqual({ 'data.json': { kind: 'json', value: [5, 10, 15] } });
    const byInstance = JSON.parse((await ws.lenna(['show', 'join', '--pipeline', 'basic.yaml', '--json'])).stdout);
    expect(byInstance.outputs.data.id).toBe(id);
    expect((await ws.lenna(['show', 'nonesuch'])).exitCode).toBe(2);

    await ws.edit('basic.yaml', (t) => t.replace('factor: 3', 'factor: 7'));
    await ws.lenna(['run', 'basic.yaml']);
    const before = (await readdir(join(ws.store, 'objects'))).length;
    // The old right and join outputs are referenced by no lock file any more, but by the record of the run that made them.
    const kept = JSON.parse((await ws.lenna(['gc', '--dry-run', '--json', 'basic.yaml'])).stdout);
    expect(kept.wouldRemove).toEqual([]);
    const plan = JSON.parse((await ws.lenna(['gc', '--dry-run', '--json', '--forget-runs', '0', 'basic.yaml'])).stdout);
    expect(plan.wouldRemove).toHaveLength(2);
    expect(Object.values(plan.why)).toEqual([expect.stringMatching(/^(double\.data of right|sum\.data of join), \d+ B: no lock file or run record references it$/), expect.any(String)]);
    expect((await readdir(join(ws.store, 'objects'))).length).toBe(before);
    await ws.lenna(['gc', '--forget-runs', '0', 'basic.yaml']);
    expect((await readdir(join(ws.store, 'objects'))).length).toBe(before - 2);
    expect((await ws.lenna(['verify'])).exitCode).toBe(0);
    expect(Object.values(states((await ws.lenna(['run', 'basic.yaml', '--json'])).stdout))).toEqual(['cached', 'cached', 'cached', 'cached']);
    const dag = await ws.lenna(['dag', 'basic.yaml', '--mermaid']);
    expect(dag.stdout).toMatch(/^flowchart TD\n/);
    expect(dag.stdout).toContain('n1 -->|data to a| n3');
    expect((await ws.lenna(['run', '--help'])).stdout).toMatch(/Example: lenna run/);
  });

  it('lenna stage runs one stage on a folder input, commits and copies its outputs; bad params exit 2', async () => {
    const ws = await makeWorkspace();
    await mkdir(join(ws.dir, 'in'));
    await writeFile(join(ws.dir, 'in', 'data.json'), '[1,2]');
    const r = await ws.lenna(['stage', './stages/double/stage.js', '--in', 'data=in', '--param', 'factor=10', '--out', 'out', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(await ws.read('out/data/data.json'))).toEqual([10, 20]);
    const result = JSON.parse(r.stdout);
    expect(result.params).toMatchObject({ factor: 10 });
    expect(await readdir(join(ws.store, 'objects'))).toEqual([result.outputs.data]);
    const bad = await ws.lenna(['stage', './stages/double/stage.js', '--in', 'data=in', '--param', 'fctor=1']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--param fctor: .*known params: factor/);
    const missing = await ws.lenna(['stage', './stages/double/stage.js']);
    expect(missing.stderr).toMatch(/missing --in data=/);
  });


  it('lenna data check delegates to @lenna/data and prints its result', async () => {
    const ws = await makeWorkspace();
    const r = await ws.lenna(['data', 'check', 'synthetic', '--seed', '3', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const { checkDataset } = (await import('@lenna/data')) as { checkDataset: (n: string, o: { seed?: number }) => Promise<unknown> };
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(await checkDataset('synthetic', { seed: 3 }))));
    const bad = await ws.lenna(['data', 'check', 'nope']);
    expect(bad.exitCode).toBe(2);
  });
});

describe('lenna params, show --path, --version', () => {
  it('lenna params prints every instance with its defaults filled in, as YAML and as JSON, after --set', async () => {
    const ws = await makeWorkspace();
    const text = await ws.lenna(['params', 'config.yaml', '--set', 'cfg.steps=null', '--set', 'cfg.dataset.limit=256,512']);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(parseYaml(text.stdout)).toEqual({
      'cfg@dataset.limit=256': { title: 'hello', steps: null, dataset: { name: 'mnist', seed: 0, limit: 256 }, tags: [] },
      'cfg@dataset.limit=512': { title: 'hello', steps: null, dataset: { name: 'mnist', seed: 0, limit: 512 }, tags: [] },
    });
    const json = JSON.parse((await ws.lenna(['params', 'config.yaml', '--set', 'cfg.title="a,b"', '--json'])).stdout);
    expect(json).toEqual({ pipeline: 'config', stages: [{ id: 'cfg', stage: 'config', params: { title: 'a,b', steps: 8, dataset: { name: 'mnist', seed: 0 }, tags: [] } }] });
    const bad = await ws.lenna(['params', 'config.yaml', '--set', 'cfg.dataset.limt=1']);
    expect([bad.exitCode, bad.stderr]).toEqual([2, 'lenna: --set cfg.dataset.limt=1: unknown param "dataset.limt" of config; known keys of dataset: name, limit, seed.']);
    expect((await ws.lenna(['params', '--help'])).stdout).toMatch(/Example: lenna params/);
  });

  it('what lenna params prints is what the stage runs with; show --path finds it; lenna stage takes nested --param too', async () => {
    const ws = await makeWorkspace();
    const sets = ['--set', 'cfg.dataset.limit=64', '--set', 'cfg.steps=null'];
    const printed = JSON.parse((await ws.lenna(['params', 'config.yaml', ...sets, '--json'])).stdout).stages[0].params;
    const run = await ws.lenna(['run', 'config.yaml', ...sets, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const id = byId(run.stdout).cfg.outputs.params;
    const dir = join(ws.store, 'objects', id);
    expect(JSON.parse(await readFile(join(dir, 'params.json'), 'utf8'))).toEqual(printed);
    // From an instance of the lock file, and from an artifact id, to the folder on disk.
    expect((await ws.lenna(['show', 'cfg', '--pipeline', 'config.yaml', '--path'])).stdout).toBe(`params ${dir}`);
    expect(JSON.parse((await ws.lenna(['show', 'cfg', '--pipeline', 'config.yaml', '--path', '--json'])).stdout)).toEqual({ params: dir });
    expect((await ws.lenna(['show', id, '--path'])).stdout).toBe(dir);
    expect((await ws.lenna(['show', 'nonesuch', '--pipeline', 'config.yaml', '--path'])).exitCode).toBe(2);
    const alone = await ws.lenna(['stage', './stages/config/stage.js', '--param', 'dataset.limit=64', '--param', 'steps=null', '--param', 'title=hello', '--json']);
    expect(alone.exitCode, alone.stderr).toBe(0);
    // Same stage, params and (no) inputs as the pipeline's instance: the same cache key.
    expect(JSON.parse(alone.stdout).key).toBe(JSON.parse(await ws.read('config.lock.json')).stages.cfg.key);
    const bad = await ws.lenna(['stage', './stages/config/stage.js', '--param', 'dataset.limt=1']);
    expect([bad.exitCode, bad.stderr]).toEqual([2, 'lenna: lenna stage config: --param dataset.limt: unknown param "dataset.limt" of config; known keys of dataset: name, limit, seed.']);
  });

  it('lenna --version and -V print the version of the root package.json', async () => {
    const ws = await makeWorkspace();
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) expect(await ws.lenna([flag])).toEqual({ exitCode: 0, stdout: `lenna ${version}`, stderr: '' });
    expect((await ws.lenna(['--help'])).stdout).toMatch(/params <pipeline\.yaml>/);
  });
});
