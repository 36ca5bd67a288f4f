import { join, resolve } from 'node:path';
import { chmod, cp, mkdir, readdir, stat } from 'node:fs/promises';
import { ArtifactStore, gcLockPath, hashDirectory, isArtifactId, resolveStoreRoot, RunLog, UserError, withFileLock, type StageDefinition, type StageJob } from '@lenna/core';
import { keyValues, lockTimeoutOption, parseCommandArgs, requirePositional } from '../args.js';
import { keyPartsHere } from '../cache-key.js';
import { runStageChild } from '../child.js';
import { collectRunFacts, stageRunFacts } from '../run-facts.js';
import { ExclusiveLock } from '../exclusive.js';
import { parseScalar } from '../pipeline/overrides.js';
import { checkParamPath, setParamPath } from '../pipeline/param-path.js';
import { PlainReporter } from '../progress.js';
import { resolveStageRef } from '../stage-ref.js';
import { help } from './pipeline.js';
import { printJson } from './output.js';

export const stageHelp = `lenna stage <stage package | ./stage.js> [--in <input>=<artifact id or folder>]... [--param <k>=<v>]... [--out <dir>] [--json]

Runs one stage alone, for contributors: inputs are artifact ids from the store or folders used in place;
outputs are committed to the store and copied to --out/<output>/.

Example: lenna stage darts-search --in model=3f2a...e9 --param lambda=0.1 --param epochs=1 --out /tmp/search`;

export async function stageCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('stage', argv, {
    in: { type: 'string', multiple: true },
    param: { type: 'string', multiple: true },
    out: { type: 'string' },
    'lock-timeout': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return help(stageHelp);
  const lockTimeoutS = lockTimeoutOption('stage', values['lock-timeout'] as string | undefined);
  const uses = requirePositional('stage', positionals, 'the stage package (e.g. darts-search) or a ./stage.js file');
  const ref = await resolveStageRef(uses, process.cwd(), `lenna stage ${uses}`);
  const def = ref.definition;
  const params = validate(def, rawParams(def, keyValues('stage', 'param', values.param as string[] | undefined)));
  const store = new ArtifactStore(resolveStoreRoot());
  const { job, ids } = await resolveInputs(def, keyValues('stage', 'in', values.in as string[] | undefined), store);
  const { key: cacheKey, environment } = await keyPartsHere(ref, params, ids);
  const reporter = new PlainReporter((t) => process.stderr.write(t), 1000);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  reporter.started(def.name);
  const runLog = await RunLog.start(store.root, { kind: 'stage', command: `lenna stage ${argv.join(' ')}` });
  await withFileLock(gcLockPath(store.root), { what: 'the store (lenna gc is running)', timeoutMs: lockTimeoutS * 1000 }, async () => undefined);
  const result = await runStageChild({
    store,
    specifier: ref.specifier,
    stageName: def.name,
    instance: def.name,
    params,
    cacheKey,
    inputs: job,
    inputIds: ids,
    outputs: Object.fromEntries(Object.entries(def.outputs).map(([n, o]) => [n, { kind: o.kind }])),
    environment,
    run: await stageRunFacts(await collectRunFacts(undefined)),
    exclusive: new ExclusiveLock({ machine: { timeoutMs: lockTimeoutS * 1000, signal: controller.signal, onWait: (m) => process.stderr.write(`lenna: ${m}\n`) } }),
    signal: controller.signal,
    onMessage: (m) => (m.type === 'progress' ? reporter.progress(def.name, m.event) : m.type === 'log' ? reporter.log(def.name, m.message) : undefined),
  }).finally(() => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  });
  if (result.ok) await runLog.add(def.name, { stage: def.name, key: cacheKey, inputs: ids, outputs: result.outputs });
  await runLog.finish();
  if (!result.ok) {
    reporter.failed(def.name, result.error ?? 'failed', result.logPath);
    if (result.interrupted) return 130;
    return result.userError ? 2 : 1;
  }
  reporter.finished(def.name, result.seconds);
  await store.writeCacheRecord({ cacheKey, stage: def.name, outputs: result.outputs, params, inputs: ids, finishedAt: new Date().toISOString(), seconds: result.seconds });
  if (values.out) await copyOutputs(store, result.outputs, resolve(values.out as string));
  if (values.json) printJson({ stage: def.name, key: cacheKey, params, inputs: ids, outputs: result.outputs, log: result.logPath });
  else for (const [name, id] of Object.entries(result.outputs)) process.stdout.write(`${name}: ${id}${values.out ? `  (${join(values.out as string, name)})` : ''}\n`);
  return 0;
}

/** `--param dataset.limit=5` sets a key of an object param, as `--set` does in a pipeline. */
function rawParams(def: StageDefinition, pairs: [string, string][]): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, text] of pairs) {
    const where = `lenna stage ${def.name}: --param ${key}`;
    checkParamPath(def.params, key.split('.'), def.name, where);
    setParamPath(raw, key.split('.'), parseScalar(text), def.params, where);
  }
  return raw;
}

function validate(def: StageDefinition, raw: Record<string, unknown>): unknown {
  const result = def.params.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = [...issue.path.map(String), ...(issue.code === 'unrecognized_keys' ? [issue.keys[0]] : [])].join('.');
  throw new UserError(`lenna stage ${def.name}: ${key ? `--param ${key}` : 'params'}: ${issue.message}; fix the value.`);
}

async function resolveInputs(def: StageDefinition, pairs: [string, string][], store: ArtifactStore) {
  const job: StageJob['inputs'] = {};
  const ids: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const spec = def.inputs[name];
    if (!spec) throw new UserError(`lenna stage ${def.name}: --in ${name}: no such input; its inputs: ${Object.keys(def.inputs).join(', ') || 'none'}.`);
    const one = await resolveOne(name, value, store, def.name);
    if (spec.many) {
      job[name] = [...((job[name] as { id: string; dir: string }[] | undefined) ?? []), one];
      ids[name] = [...((ids[name] as string[] | undefined) ?? []), one.id];
    } else {
      if (name in job) throw new UserError(`lenna stage ${def.name}: --in ${name} given twice; the input takes one artifact.`);
      job[name] = one;
      ids[name] = one.id;
    }
  }
  for (const [name, spec] of Object.entries(def.inputs)) {
    if (!spec.optional && !(name in job)) throw new UserError(`lenna stage ${def.name}: missing --in ${name}=<artifact id or folder> (${spec.description}).`);
  }
  return { job, ids };
}

/** An artifact id from the store, or a folder used in place (its id is the hash of its files). */
async function resolveOne(name: string, value: string, store: ArtifactStore, stage: string): Promise<{ id: string; dir: string }> {
  if (isArtifactId(value)) {
    const artifact = await store.open(value);
    if (!artifact) throw new UserError(`lenna stage ${stage}: --in ${name}=${value}: no such artifact in ${store.root}; give an id from lenna status --json or a folder.`);
    return { id: value, dir: artifact.dir };
  }
  const dir = resolve(value);
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new UserError(`lenna stage ${stage}: --in ${name}=${value}: neither an artifact id nor a folder; give one of those.`);
  }
  return { id: await hashDirectory(dir, { exclude: ['manifest.json'] }), dir };
}

/** Copies of the outputs the user may edit: the store's files are read-only, the copies are not. */
async function copyOutputs(store: ArtifactStore, outputs: Record<string, string>, out: string): Promise<void> {
  for (const [name, id] of Object.entries(outputs)) {
    await mkdir(join(out, name), { recursive: true });
    await cp(store.objectDir(id), join(out, name), { recursive: true, force: true });
    await makeWritable(join(out, name));
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else await chmod(path, 0o644);
  }
}
