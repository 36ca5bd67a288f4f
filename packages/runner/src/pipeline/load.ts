import { dirname, relative, resolve } from 'node:path';
import { UserError, type StageDefinition } from '@lenna/core';
import { readYamlSource, type YamlSource } from './yaml-source.js';
import { needPattern, pipelineFileSchema, type PipelineFile, type Resources } from './schema.js';
import { substituteParams } from './substitute.js';
import type { Override } from './overrides.js';
import { resolveStageRef, type StageRef } from '../stage-ref.js';
import { expandInstances, type Instance } from './instances.js';
import { topologicalOrder } from './topo.js';
import { checkParamPath, objectKeys, setParamPath } from './param-path.js';

export interface NeedRef {
  stage: string;
  output: string;
  /** `[*]`: the input receives every instance of the upstream stage. */
  gather: boolean;
}

/** A stage entry of the pipeline after validation, before expansion into instances. */
export interface PipelineStage {
  id: string;
  ref: StageRef;
  /** Per input, what feeds it: one need, or (a gathering input) several, gathered in the file's order. */
  needs: Record<string, NeedRef[]>;
  /** Params written in the file, shared params substituted, overrides applied (not yet validated). */
  params: Record<string, unknown>;
  matrix: Record<string, unknown[]>;
  /** The stage's `timeout:` in seconds, if the pipeline gives one. */
  timeoutS?: number;
  /** The stage's `resources:` (cluster executors turn them into a job's request). */
  resources?: Resources;
  /** Params set on the command line: dotted param path -> the `--set` text, for error messages. */
  setBy: Map<string, string>;
  /** Where a param (a dotted path: `dataset.limit`) came from, for error messages. */
  paramWhere(param: string): string;
}

export interface Pipeline {
  name: string;
  file: string;
  lockFile: string;
  /** Stages in topological order. */
  stages: PipelineStage[];
  /** Stage instances in topological order (one per stage unless it or an upstream has a matrix). */
  instances: Instance[];
}

export interface LoadOptions {
  overrides?: Override[];
  cwd?: string;
}

export async function loadPipeline(file: string, options: LoadOptions = {}): Promise<Pipeline> {
  const cwd = options.cwd ?? process.cwd();
  const absolute = resolve(cwd, file);
  const rel = relative(cwd, absolute);
  const display = rel && !rel.startsWith('..') ? rel : absolute;
  const source = await readYamlSource(absolute, display);
  const parsed = validateFile(source);
  const overrides = options.overrides ?? [];
  const shared = applySharedOverrides(parsed.params ?? {}, overrides);
  const stages: PipelineStage[] = [];
  for (const [id, entry] of Object.entries(parsed.stages)) {
    stages.push(await buildStage(id, entry, shared, source, dirname(absolute)));
  }
  applyStageOverrides(stages, overrides);
  checkNeeds(stages, source);
  const ordered = topologicalOrder(stages, source);
  return {
    name: parsed.name,
    file: absolute,
    lockFile: lockFileOf(absolute),
    stages: ordered,
    instances: expandInstances(ordered),
  };
}

/** `pipelines/x.yaml` -> `pipelines/x.lock.json` (absolute). */
export function lockFileOf(pipelineFile: string, cwd = process.cwd()): string {
  return resolve(cwd, pipelineFile).replace(/\.ya?ml$/, '') + '.lock.json';
}

function validateFile(source: YamlSource): PipelineFile {
  const result = pipelineFileSchema.safeParse(source.value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    throw new UserError(`${source.where([...path, key])}: unknown key "${key}"; allowed here: ${allowedKeys(path)}.`);
  }
  throw new UserError(`${source.where(path)}: ${issue.message}.`);
}

function allowedKeys(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'name, params, stages';
  return path.at(-1) === 'resources' ? 'gpus, cpus, mem, time' : 'uses, needs, params, matrix, timeout, resources';
}

function applySharedOverrides(shared: Record<string, unknown>, overrides: Override[]): Record<string, unknown> {
  const result = { ...shared };
  for (const o of overrides.filter((x) => x.stage === 'params')) {
    if (o.values.length !== 1) throw new UserError(`--set ${o.text}: a shared param takes one value; sweep a stage param instead.`);
    setParamPath(result, o.path, o.values[0], undefined, `--set ${o.text}`);
  }
  return result;
}

async function buildStage(
  id: string,
  entry: PipelineFile['stages'][string],
  shared: Record<string, unknown>,
  source: YamlSource,
  baseDir: string,
): Promise<PipelineStage> {
  const ref = await resolveStageRef(entry.uses, baseDir, source.where(['stages', id, 'uses']));
  const params = substituteParams(entry.params ?? {}, shared, source.where(['stages', id, 'params'])) as Record<string, unknown>;
  const matrix = { ...(entry.matrix ?? {}) } as Record<string, unknown[]>;
  const needs: Record<string, NeedRef[]> = {};
  for (const [input, texts] of Object.entries(entry.needs ?? {})) {
    needs[input] = (Array.isArray(texts) ? texts : [texts]).map((text) => {
      const [, stage, output, star] = needPattern.exec(text) as RegExpExecArray;
      return { stage, output, gather: Boolean(star) };
    });
  }
  const setBy = new Map<string, string>();
  const stage: PipelineStage = {
    id,
    ref,
    needs,
    params,
    matrix,
    timeoutS: entry.timeout,
    resources: entry.resources,
    setBy,
    paramWhere: (param) => {
      // A --set of this path, of an object above it, or of a key inside it.
      const set = [...setBy].find(([path]) => path === param || param.startsWith(`${path}.`) || path.startsWith(`${param}.`));
      const keys = param.split('.');
      return set?.[1] ?? source.where(['stages', id, param in matrix || keys[0] in matrix ? 'matrix' : 'params', ...(param in matrix ? [param] : keys)]);
    },
  };
  checkParamNames(stage, source);
  return stage;
}

/** Unknown param names are reported here, against the file, before any value is validated. */
function checkParamNames(stage: PipelineStage, source: YamlSource): void {
  const known = knownParams(stage.ref.definition);
  if (!known) return;
  for (const [section, values] of [['params', stage.params], ['matrix', stage.matrix]] as const) {
    for (const key of Object.keys(values)) {
      if (!known.includes(key)) {
        throw new UserError(
          `${source.where(['stages', stage.id, section, key])}: unknown param "${key}" of ${stage.ref.definition.name}; known params: ${known.join(', ')}.`,
        );
      }
    }
  }
}

export function knownParams(definition: StageDefinition): string[] | undefined {
  return objectKeys(definition.params);
}

function applyStageOverrides(stages: PipelineStage[], overrides: Override[]): void {
  for (const o of overrides.filter((x) => x.stage !== 'params')) {
    const stage = stages.find((s) => s.id === o.stage);
    if (!stage) {
      throw new UserError(`--set ${o.text}: the pipeline has no stage "${o.stage}"; stages: ${stages.map((s) => s.id).join(', ')}.`);
    }
    const def = stage.ref.definition;
    checkParamPath(def.params, o.path, def.name, `--set ${o.text}`);
    if (o.values.length > 1) {
      // Each instance sets its value (inside the object param for a nested path); see expandInstances.
      stage.matrix[o.param] = o.values;
      if (o.path.length === 1) delete stage.params[o.param];
    } else {
      setParamPath(stage.params, o.path, o.values[0], def.params, `--set ${o.text}`);
      delete stage.matrix[o.param];
    }
    stage.setBy.set(o.param, `--set ${o.text}`);
  }
}

function checkNeeds(stages: PipelineStage[], source: YamlSource): void {
  const byId = new Map(stages.map((s) => [s.id, s]));
  for (const stage of stages) {
    const def = stage.ref.definition;
    for (const [input, refs] of Object.entries(stage.needs)) {
      const where = source.where(['stages', stage.id, 'needs', input]);
      const spec = def.inputs[input];
      if (!spec) {
        throw new UserError(`${where}: ${def.name} has no input "${input}"; its inputs: ${Object.keys(def.inputs).join(', ') || 'none'}.`);
      }
      checkNeedList(refs, Boolean(spec.many), where, `${input} of ${def.name}`);
      for (const need of refs) checkNeed(need, spec, byId, where, input, def.name);
    }
    for (const [input, spec] of Object.entries(def.inputs)) {
      if (!spec.optional && !(input in stage.needs)) {
        throw new UserError(`${source.where(['stages', stage.id])}: ${def.name} requires input "${input}" (${spec.description}); add needs: { ${input}: <stage>.<output> }.`);
      }
    }
  }
}

/** Several needs feed one input only when it gathers, and each of them once. */
function checkNeedList(refs: NeedRef[], many: boolean, where: string, what: string): void {
  const texts = refs.map((n) => `${n.stage}.${n.output}${n.gather ? '[*]' : ''}`);
  if (refs.length > 1 && !many) {
    throw new UserError(`${where}: input ${what} takes one artifact, but the need lists ${texts.join(', ')}; keep one.`);
  }
  const twice = texts.find((t, i) => texts.indexOf(t) !== i);
  if (twice) throw new UserError(`${where}: the need lists ${twice} twice; list each gathered output once.`);
}

function checkNeed(need: NeedRef, spec: StageDefinition['inputs'][string], byId: Map<string, PipelineStage>, where: string, input: string, name: string): void {
  const upstream = byId.get(need.stage);
  if (!upstream) {
    throw new UserError(`${where}: needs stage "${need.stage}", which the pipeline does not define; stages: ${[...byId.keys()].join(', ')}.`);
  }
  const out = upstream.ref.definition.outputs[need.output];
  if (!out) {
    const outs = Object.keys(upstream.ref.definition.outputs).join(', ');
    throw new UserError(`${where}: stage ${need.stage} has no output "${need.output}"; its outputs: ${outs}.`);
  }
  if (spec.kind !== 'files' && out.kind !== spec.kind) {
    throw new UserError(`${where}: input ${input} takes a ${spec.kind} output but ${need.stage}.${need.output} is ${out.kind}; connect a ${spec.kind} output.`);
  }
  if (Boolean(spec.many) !== need.gather) {
    const hint = spec.many ? `${need.stage}.${need.output}[*]` : `${need.stage}.${need.output}`;
    throw new UserError(`${where}: input ${input} of ${name} ${spec.many ? 'gathers every instance' : 'takes one artifact'}; write ${hint}.`);
  }
}
