import { UserError } from '@lenna/core';
import type { YamlSource } from './yaml-source.js';

interface Node {
  id: string;
  needs: Record<string, { stage: string }[]>;
}

/** Kahn's algorithm, keeping the file's order among ready stages; a cycle is a user error naming it. */
export function topologicalOrder<T extends Node>(stages: T[], source: YamlSource): T[] {
  const remaining = new Map(stages.map((s) => [s.id, new Set(Object.values(s.needs).flat().map((n) => n.stage))]));
  const order: T[] = [];
  while (order.length < stages.length) {
    const ready = stages.find((s) => remaining.has(s.id) && [...(remaining.get(s.id) ?? [])].every((d) => !remaining.has(d)));
    if (!ready) throw cycleError(stages, remaining, source);
    remaining.delete(ready.id);
    order.push(ready);
  }
  return order;
}

function cycleError<T extends Node>(stages: T[], remaining: Map<string, Set<string>>, source: YamlSource): UserError {
  // Walk from any stuck stage along unfinished needs until a stage repeats: that loop is the cycle.
  const path: string[] = [];
  let current = [...remaining.keys()][0];
  while (!path.includes(current)) {
    path.push(current);
    current = [...(remaining.get(current) ?? [])].find((d) => remaining.has(d)) as string;
  }
  const cycle = [...path.slice(path.indexOf(current)), current];
  const first = stages.find((s) => s.id === cycle[0]) as T;
  const input = Object.keys(first.needs).find((k) => first.needs[k].some((n) => n.stage === cycle[1])) ?? '';
  return new UserError(`${source.where(['stages', first.id, 'needs', input])}: the needs form a cycle (${cycle.join(' -> ')}); remove one of these needs.`);
}
