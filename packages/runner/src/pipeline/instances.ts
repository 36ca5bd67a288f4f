import { formatInstanceId, UserError } from '@lenna/core';
import type { PipelineStage } from './load.js';
import { objectKeys, schemaAtPath, setParamPath, valueAtPath } from './param-path.js';

/** One matrix value an instance carries, inherited by every instance downstream of it. */
export interface Binding {
  stage: string;
  /** The param's dotted path: `lambda`, or `dataset.limit` for a key of an object param. */
  param: string;
  value: unknown;
}

export interface InstanceInput {
  from: Instance;
  output: string;
}

/** One run of a stage: the unit the planner, the cache and the lock file work with. */
export interface Instance {
  /** `retrain-eval` or, in a sweep, `retrain-eval@lambda=0.1,seed=2`. */
  id: string;
  stage: PipelineStage;
  /** Validated by the stage's schema, defaults applied. */
  params: unknown;
  bindings: Binding[];
  inputs: Record<string, InstanceInput | InstanceInput[]>;
  /** Instances this one reads from. */
  upstream: Instance[];
}

/** Expands stages (in topological order) into instances: a matrix multiplies a stage and everything downstream. */
export function expandInstances(stages: PipelineStage[]): Instance[] {
  const byStage = new Map<string, Instance[]>();
  const all: Instance[] = [];
  for (const stage of stages) {
    const list: Instance[] = [];
    for (const inherited of upstreamCombinations(stage, byStage)) {
      for (const combo of matrixCombinations(stage)) {
        const bindings = [...inherited.bindings, ...combo];
        list.push(makeInstance(stage, bindings, inherited.picks, byStage));
      }
    }
    byStage.set(stage.id, list);
    all.push(...list);
  }
  labelInstances(all);
  return all;
}

interface Combination {
  bindings: Binding[];
  picks: Map<string, Instance>;
}

/** Every consistent choice of one instance per (non-gather) upstream stage. */
function upstreamCombinations(stage: PipelineStage, byStage: Map<string, Instance[]>): Combination[] {
  const upstreamStages = [...new Set(Object.values(stage.needs).flat().filter((n) => !n.gather).map((n) => n.stage))];
  let combos: Combination[] = [{ bindings: [], picks: new Map() }];
  for (const up of upstreamStages) {
    const next: Combination[] = [];
    for (const combo of combos) {
      for (const candidate of byStage.get(up) ?? []) {
        const merged = mergeBindings(combo.bindings, candidate.bindings);
        if (merged) next.push({ bindings: merged, picks: new Map([...combo.picks, [up, candidate]]) });
      }
    }
    combos = next;
  }
  return combos;
}

function matrixCombinations(stage: PipelineStage): Binding[][] {
  let combos: Binding[][] = [[]];
  for (const [param, values] of Object.entries(stage.matrix)) {
    combos = combos.flatMap((c) => values.map((value) => [...c, { stage: stage.id, param, value }]));
  }
  return combos;
}

/** Two binding lists agree when they give every shared matrix param the same value. */
function mergeBindings(a: Binding[], b: Binding[]): Binding[] | undefined {
  const result = [...a];
  for (const binding of b) {
    const same = result.find((x) => x.stage === binding.stage && x.param === binding.param);
    if (!same) result.push(binding);
    else if (same.value !== binding.value) return undefined;
  }
  return result;
}

function makeInstance(stage: PipelineStage, bindings: Binding[], picks: Map<string, Instance>, byStage: Map<string, Instance[]>): Instance {
  const raw = { ...stage.params };
  const schema = stage.ref.definition.params;
  for (const b of bindings.filter((x) => x.stage === stage.id)) setParamPath(raw, b.param.split('.'), b.value, schema, stage.paramWhere(b.param));
  const params = validateParams(stage, raw);
  const inputs: Instance['inputs'] = {};
  const upstream = new Set<Instance>();
  for (const [input, refs] of Object.entries(stage.needs)) {
    if (refs[0].gather) {
      // Every agreeing instance of each listed stage, stage by stage in the file's order.
      inputs[input] = refs.flatMap((need) => {
        const gathered = (byStage.get(need.stage) ?? []).filter((u) => mergeBindings(bindings, u.bindings));
        gathered.forEach((u) => upstream.add(u));
        return gathered.map((u) => ({ from: u, output: need.output }));
      });
    } else {
      const need = refs[0];
      const pick = picks.get(need.stage) as Instance;
      inputs[input] = { from: pick, output: need.output };
      upstream.add(pick);
    }
  }
  return { id: stage.id, stage, params, bindings, inputs, upstream: [...upstream] };
}

function validateParams(stage: PipelineStage, raw: Record<string, unknown>): unknown {
  const def = stage.ref.definition;
  const result = def.params.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = [...path, issue.keys[0]].join('.');
    const parent = path.length ? `keys of ${path.join('.')}` : 'params';
    const schema = schemaAtPath(def.params, path);
    const allowed = schema && objectKeys(schema);
    throw new UserError(`${stage.paramWhere(key)}: unknown param "${key}" of ${def.name}${allowed ? `; known ${parent}: ${allowed.join(', ')}` : ''}.`);
  }
  const param = path.join('.');
  const where = param ? stage.paramWhere(param) : `stage ${stage.id}`;
  const value = valueAtPath(raw, path);
  const got = param && value !== undefined ? ` (got ${JSON.stringify(value)})` : '';
  throw new UserError(`${where}: ${issue.message}${got} for ${def.name}; fix the value.`);
}

/** Names instances after their matrix values; a param name two swept stages share is qualified by stage. */
function labelInstances(instances: Instance[]): void {
  const owners = new Map<string, Set<string>>();
  for (const inst of instances) for (const b of inst.bindings) owners.set(b.param, (owners.get(b.param) ?? new Set()).add(b.stage));
  for (const inst of instances) {
    const pairs = inst.bindings.map((b): [string, string] => [`${(owners.get(b.param)?.size ?? 0) > 1 ? `${b.stage}.` : ''}${b.param}`, String(b.value)]);
    inst.id = formatInstanceId(inst.stage.id, pairs);
  }
}
