import { UserError } from '@lenna/core';
import type { Pipeline } from './pipeline/load.js';
import type { Instance } from './pipeline/instances.js';

function checkStageIds(pipeline: Pipeline, ids: string[], flag: string): void {
  const known = pipeline.stages.map((s) => s.id);
  for (const id of ids) {
    if (!known.includes(id)) throw new UserError(`${flag} ${id}: the pipeline has no such stage; stages: ${known.join(', ')}.`);
  }
}

/** `--only s`: the instances of s and everything upstream of them (what s needs); else every instance. */
export function selectInstances(pipeline: Pipeline, only: string[]): Instance[] {
  if (only.length === 0) return pipeline.instances;
  checkStageIds(pipeline, only, '--only');
  const keep = new Set<Instance>();
  const visit = (inst: Instance): void => {
    if (keep.has(inst)) return;
    keep.add(inst);
    inst.upstream.forEach(visit);
  };
  pipeline.instances.filter((i) => only.includes(i.stage.id)).forEach(visit);
  return pipeline.instances.filter((i) => keep.has(i));
}

/** Stage ids that must run regardless of the cache, each with the sentence that says why. */
export function forcedStages(pipeline: Pipeline, force: string[], from: string[]): Map<string, string> {
  checkStageIds(pipeline, force, '--force');
  checkStageIds(pipeline, from, '--from');
  const forced = new Map<string, string>();
  for (const id of force) forced.set(id, `forced with --force ${id}`);
  for (const start of from) {
    for (const id of downstreamOf(pipeline, start)) if (!forced.has(id)) forced.set(id, `re-run with --from ${start}`);
  }
  return forced;
}

export function downstreamOf(pipeline: Pipeline, start: string): Set<string> {
  const result = new Set([start]);
  for (const stage of pipeline.stages) {
    if (Object.values(stage.needs).flat().some((n) => result.has(n.stage))) result.add(stage.id);
  }
  return result;
}
