import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instanceKeys } from '@lenna/core';
import { loadPipeline } from '../src/pipeline/load.js';
import { downstreamOf, selectInstances } from '../src/selection.js';
import { parseOverride, parseScalar } from '../src/pipeline/overrides.js';
import { fixturesDir } from './helpers.js';

const tempDirs: string[] = [];
afterAll(() => Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Writes a pipeline that names the fixture stages by absolute path, in a temp folder. */
async function pipelineFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lenna-yaml-'));
  tempDirs.push(dir);
  const file = join(dir, 'p.yaml');
  await writeFile(file, text.replaceAll('./stages/', `${fixturesDir}/stages/`));
  return file;
}

async function loadError(text: string, overrides: string[] = []): Promise<string> {
  const file = await pipelineFile(text);
  try {
    await loadPipeline(file, { overrides: overrides.map(parseOverride) });
  } catch (error) {
    expect((error as Error).name).toBe('UserError');
    return (error as Error).message;
  }
  throw new Error('expected the pipeline to be rejected');
}

const diamond = `name: d
params:
  seed: 5
stages:
  source:
    uses: ./stages/source/stage.js
    params:
      seed: \${params.seed}
      size: 2
  left:
    uses: ./stages/double/stage.js
    needs: { data: source.data }
  right:
    uses: ./stages/double/stage.js
    needs: { data: source.data }
    params:
      factor: 3
  join:
    uses: ./stages/sum/stage.js
    needs:
      a: left.data
      b: right.data
`;

describe('pipeline YAML', () => {
  it('orders stages topologically, applies defaults and keeps substituted numbers numbers', async () => {
    const p = await loadPipeline(await pipelineFile(diamond));
    expect(p.instances.map((i) => i.id)).toEqual(['source', 'left', 'right', 'join']);
    expect(p.instances[0].params).toEqual({ seed: 5, size: 2, bytes: 0 });
    expect(p.instances[1].params).toEqual({ factor: 2, sleepMs: 0, killSelf: false, bytes: 0 });
    expect(p.lockFile.endsWith('p.lock.json')).toBe(true);
  });

  it('names the line of an unknown param', async () => {
    const message = await loadError(diamond.replace('factor: 3', 'factr: 3'));
    expect(message).toMatch(/p\.yaml:17: stages\.right\.params\.factr: unknown param "factr" of double; known params: factor/);
  });

  it('names the line and value of a mistyped param', async () => {
    const message = await loadError(diamond.replace('size: 2', 'size: two'));
    expect(message).toMatch(/p\.yaml:9: stages\.source\.params\.size: .*expected number.*"two"/);
  });

  it('rejects a cycle, naming it', async () => {
    const text = diamond.replace('needs: { data: source.data }\n  right', 'needs: { data: join.data }\n  right');
    const message = await loadError(text);
    expect(message).toMatch(/cycle \((left|join|right) -> .* -> \1\)/);
  });

  it('rejects a need of an undefined stage and of an undeclared output', async () => {
    expect(await loadError(diamond.replace('a: left.data', 'a: lefty.data'))).toMatch(/p\.yaml:21: stages\.join\.needs\.a: needs stage "lefty"/);
    expect(await loadError(diamond.replace('a: left.data', 'a: left.numbers'))).toMatch(/stage left has no output "numbers"; its outputs: data/);
  });

  it('rejects a missing required input, an unknown stage file, an unknown key and bad YAML', async () => {
    expect(await loadError(diamond.replace('      b: right.data\n', ''))).toMatch(/stages\.join: sum requires input "b"/);
    expect(await loadError(diamond.replace('./stages/sum/stage.js', './stages/nope.js'))).toMatch(/p\.yaml:19: stages\.join\.uses: cannot load stage file/);
    expect(await loadError(diamond.replace('  join:\n', '  join:\n    uzes: x\n'))).toMatch(/p\.yaml:19: stages\.join\.uzes: unknown key "uzes"/);
    expect(await loadError('name: x\nstages: [\n')).toMatch(/p\.yaml:\d+: invalid YAML/);
    // Found by the fault suite's fuzzer: an alias with no anchor threw yaml's ReferenceError (an internal error).
    expect(await loadError('name: x\nstages: *!\n')).toMatch(/p\.yaml: invalid YAML \(Unresolved alias.*fix the anchors and aliases/);
    expect(await loadError(diamond.replace('${params.seed}', '${params.sed}'))).toMatch(/\$\{params\.sed\} names no shared param; .*known: seed/);
  });

  it('reads a --set value with an unknown YAML tag without printing a Node warning', async () => {
    const warnings: string[] = [];
    const listener = (w: Error) => warnings.push(w.message);
    process.on('warning', listener);
    try {
      expect(parseScalar('!#')).toBe('');
      // Node delivers process warnings on a later tick.
      await new Promise((done) => setImmediate(done));
    } finally {
      process.off('warning', listener);
    }
    expect(warnings).toEqual([]);
  });

  it('--set overrides a param, and several values make a sweep', async () => {
    const file = await pipelineFile(diamond);
    const one = await loadPipeline(file, { overrides: [parseOverride('right.factor=0.5')] });
    expect(one.instances.find((i) => i.id === 'right')?.params).toMatchObject({ factor: 0.5 });
    const sweep = await loadPipeline(file, { overrides: [parseOverride('right.factor=1,2')] });
    expect(sweep.instances.map((i) => i.id)).toEqual(['source', 'left', 'right@factor=1', 'right@factor=2', 'join@factor=1', 'join@factor=2']);
    expect(await loadError(diamond, ['right.fctor=1'])).toMatch(/--set right\.fctor=1: unknown param "fctor"/);
    expect(await loadError(diamond, ['nosuch.factor=1'])).toMatch(/no stage "nosuch"/);
    expect(await loadError(diamond, ['right.factor=big'])).toMatch(/--set right\.factor=big: .*expected number/);
  });

  it('parses --set values the way YAML types them', () => {
    expect([parseScalar('0.1'), parseScalar('true'), parseScalar('abc'), parseScalar('3')]).toEqual([0.1, true, 'abc', 3]);
    expect(parseScalar('[64, 64]')).toEqual([64, 64]);
    expect(parseScalar('{name: mnist, limit: 10}')).toEqual({ name: 'mnist', limit: 10 });
    expect(parseScalar('a: b')).toBe('a: b');
  });

  it('splits a --set sweep on commas outside flow lists', () => {
    expect(parseOverride('predictor.hidden=[64,64],[128]').values).toEqual([[64, 64], [128]]);
    expect(parseOverride('s.lambda=0,0.5').values).toEqual([0, 0.5]);
  });

  it('reads null as null, and only the YAML null words', () => {
    expect(parseOverride('s.steps=null').values).toEqual([null]);
    expect(['~', 'Null', 'NULL'].map(parseScalar)).toEqual([null, null, null]);
    expect(parseScalar('"null"')).toBe('null');
    expect(parseScalar('# not a comment')).toBe('# not a comment');
    expect(parseOverride('s.steps=8,null').values).toEqual([8, null]);
  });

  it('keeps a quoted value with commas whole, and splits the rest', () => {
    expect(parseOverride('report.title="a,b"').values).toEqual(['a,b']);
    expect(parseOverride("report.title='a,b'").values).toEqual(['a,b']);
    expect(parseOverride(`report.title="it's, here"`).values).toEqual(["it's, here"]);
    expect(parseOverride("report.title='it''s, here'").values).toEqual(["it's, here"]);
    expect(parseOverride(`report.title="say \\"a,b\\"",c`).values).toEqual(['say "a,b"', 'c']);
    expect(parseOverride(`report.title=it's,ok`).values).toEqual(["it's", 'ok']);
    expect(parseOverride(`s.tags=["a,b", c],[d]`).values).toEqual([['a,b', 'c'], ['d']]);
    expect(() => parseOverride('report.title="a,b')).toThrow(/--set report\.title="a,b: the value opens a " quote it never closes/);
  });

  it('parses a dotted param path', () => {
    expect(parseOverride('darts-search.dataset.limit=1024')).toMatchObject({ stage: 'darts-search', param: 'dataset.limit', path: ['dataset', 'limit'], values: [1024] });
    expect(() => parseOverride('s.dataset..limit=1')).toThrow(/write it as <stage>\.<param>=<value>/);
  });
});

describe('--set on params of every shape', () => {
  const config = `name: c
stages:
  cfg:
    uses: ./stages/config/stage.js
    params:
      title: hello
  after:
    uses: ./stages/double/stage.js
    needs: { data: src.data }
  src:
    uses: ./stages/source/stage.js
`;
  const load = async (sets: string[], text = config) => loadPipeline(await pipelineFile(text), { overrides: sets.map(parseOverride) });
  const cfg = async (sets: string[], text = config) => (await load(sets, text)).instances.filter((i) => i.stage.id === 'cfg');

  it('sets null, and a quoted value with a comma as one value', async () => {
    const [one] = await cfg(['cfg.steps=null', 'cfg.title="a,b"']);
    expect(one.params).toMatchObject({ steps: null, title: 'a,b' });
    expect((await cfg(['cfg.title=a,b'])).map((i) => i.id)).toEqual(['cfg@title=a', 'cfg@title=b']);
  });

  it('sets a key inside an object param, starting from its default or merging into the file', async () => {
    const [fromDefault] = await cfg(['cfg.dataset.limit=1024']);
    expect(fromDefault.params).toMatchObject({ dataset: { name: 'mnist', seed: 0, limit: 1024 } });
    const inFile = config.replace('title: hello', 'title: hello\n      dataset: { name: cifar10, seed: 3 }');
    const [merged] = await cfg(['cfg.dataset.limit=7'], inFile);
    expect(merged.params).toMatchObject({ dataset: { name: 'cifar10', seed: 3, limit: 7 } });
    const [both] = await cfg(['cfg.dataset.limit=7', 'cfg.dataset.name=cifar10']);
    expect(both.params).toMatchObject({ dataset: { name: 'cifar10', seed: 0, limit: 7 } });
  });

  it('sweeps a key inside an object param, naming instances by its path', async () => {
    const instances = await cfg(['cfg.dataset.limit=256,512']);
    expect(instances.map((i) => i.id)).toEqual(['cfg@dataset.limit=256', 'cfg@dataset.limit=512']);
    expect(instances.map((i) => (i.params as { dataset: unknown }).dataset)).toEqual([
      { name: 'mnist', seed: 0, limit: 256 },
      { name: 'mnist', seed: 0, limit: 512 },
    ]);
    expect(instanceKeys(instances[1].id)).toEqual(new Map([['dataset.limit', '512']]));
  });

  it('names the unknown key and the keys allowed there, nested too', async () => {
    const nested = await loadError(config, ['cfg.dataset.limt=1']);
    expect(nested).toBe('--set cfg.dataset.limt=1: unknown param "dataset.limt" of config; known keys of dataset: name, limit, seed.');
    expect(await loadError(config, ['cfg.titel=x'])).toBe('--set cfg.titel=x: unknown param "titel" of config; known params: title, steps, dataset, tags.');
    expect(await loadError(config, ['cfg.title.x=1'])).toMatch(/^--set cfg\.title\.x=1: param "title" of config is a string, not a map, so it has no key "x"; set title itself\.$/);
    const inFile = await loadError(config.replace('title: hello', 'title: hello\n      dataset: { name: mnist, limt: 3 }'));
    expect(inFile).toMatch(/p\.yaml:7: stages\.cfg\.params\.dataset\.limt: unknown param "dataset\.limt" of config; known keys of dataset: name, limit, seed\.$/);
  });

  it('names the key and what is expected for a wrong type, nested too', async () => {
    expect(await loadError(config, ['cfg.dataset.limit=big'])).toMatch(/^--set cfg\.dataset\.limit=big: .*expected number.* \(got "big"\) for config; fix the value\.$/);
    expect(await loadError(config, ['cfg.dataset.limit=1,big'])).toMatch(/^--set cfg\.dataset\.limit=1,big: .*expected number.*"big"/);
    expect(await loadError(config, ['cfg.steps=0'])).toMatch(/^--set cfg\.steps=0: .*>0.* \(got 0\)/);
    expect(await loadError(config, ['cfg.dataset.name=imagenet'])).toMatch(/^--set cfg\.dataset\.name=imagenet: .*"mnist"\|"cifar10"/);
  });
});

describe('matrix', () => {
  const sweep = `name: s
stages:
  source:
    uses: ./stages/source/stage.js
  scale:
    uses: ./stages/double/stage.js
    needs: { data: source.data }
    matrix:
      factor: [1, 2]
      sleepMs: [0, 1]
  join:
    uses: ./stages/sum/stage.js
    needs:
      a: scale.data
      b: scale.data
  collect:
    uses: ./stages/gather/stage.js
    needs:
      runs: join.data[*]
`;

  it('runs the cartesian product, fans out downstream consistently and gathers every instance', async () => {
    const p = await loadPipeline(await pipelineFile(sweep));
    const ids = p.instances.map((i) => i.id);
    expect(ids.filter((i) => i.startsWith('scale'))).toEqual([
      'scale@factor=1,sleepMs=0',
      'scale@factor=1,sleepMs=1',
      'scale@factor=2,sleepMs=0',
      'scale@factor=2,sleepMs=1',
    ]);
    // join reads a and b from the same scale instance: 4 joins, not 16.
    const joins = p.instances.filter((i) => i.stage.id === 'join');
    expect(joins).toHaveLength(4);
    for (const j of joins) {
      const a = j.inputs.a as { from: { id: string } };
      const b = j.inputs.b as { from: { id: string } };
      expect(a.from.id).toBe(b.from.id);
      expect(j.id).toBe(a.from.id.replace('scale@', 'join@'));
    }
    const collect = p.instances.find((i) => i.id === 'collect');
    expect((collect?.inputs.runs as { from: { id: string } }[]).map((r) => r.from.id)).toEqual(joins.map((j) => j.id));
    expect(p.instances.find((i) => i.id === 'scale@factor=2,sleepMs=1')?.params).toMatchObject({ factor: 2, sleepMs: 1 });
  });

  it('rejects a gather written without [*] and a plain need written with it', async () => {
    expect(await loadError(sweep.replace('join.data[*]', 'join.data'))).toMatch(/input runs of gather gathers every instance; write join\.data\[\*\]/);
    expect(await loadError(sweep.replace('a: scale.data', 'a: scale.data[*]'))).toMatch(/input a of sum takes one artifact/);
  });

  it('gathers several stages into one input, stage by stage in the listed order, and --only keeps all of them', async () => {
    const two = sweep.replace('      runs: join.data[*]\n', '      runs:\n        - join.data[*]\n        - scale.data[*]\n');
    const p = await loadPipeline(await pipelineFile(two));
    const collect = p.instances.find((i) => i.id === 'collect');
    const [joins, scales] = ['join', 'scale'].map((id) => p.instances.filter((i) => i.stage.id === id).map((i) => i.id));
    expect(joins).toHaveLength(4);
    expect((collect?.inputs.runs as { from: { id: string } }[]).map((r) => r.from.id)).toEqual([...joins, ...scales]);
    expect(collect?.upstream.map((u) => u.id).sort()).toEqual([...joins, ...scales].sort());
    expect(selectInstances(p, ['collect'])).toHaveLength(p.instances.length);
    expect([...downstreamOf(p, 'scale')].sort()).toEqual(['collect', 'join', 'scale']);
  });

  it('refuses a list for an input that takes one artifact, a listed need without [*], and a need listed twice', async () => {
    const listed = (entries: string[]) => sweep.replace('      runs: join.data[*]\n', `      runs:\n${entries.map((e) => `        - ${e}\n`).join('')}`);
    expect(await loadError(sweep.replace('      a: scale.data\n', '      a: [scale.data, source.data]\n'))).toMatch(
      /p\.yaml:\d+: stages\.join\.needs\.a: input a of sum takes one artifact, but the need lists scale\.data, source\.data; keep one\./,
    );
    expect(await loadError(listed(['join.data[*]', 'scale.data']))).toMatch(/input runs of gather gathers every instance; write scale\.data\[\*\]/);
    expect(await loadError(listed(['join.data[*]', 'join.data[*]']))).toMatch(/the need lists join\.data\[\*\] twice/);
    expect(await loadError(listed([]).replace('      runs:\n', '      runs: []\n'))).toMatch(/stages\.collect\.needs\.runs: list at least one/);
  });

  it('validates matrix values against the stage schema with the matrix line', async () => {
    expect(await loadError(sweep.replace('factor: [1, 2]', 'factor: [1, "x"]'))).toMatch(/p\.yaml:9: stages\.scale\.matrix\.factor: .*expected number/);
  });
});
