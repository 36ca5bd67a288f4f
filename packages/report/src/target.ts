import type { ReportRow } from './row.js';

/** What tells two measurement targets apart: the runtime, its tfjs backend and the browser's version. */
export type TargetFields = Pick<ReportRow, 'target' | 'backend' | 'browser'>;

/** `node`, `node (wasm)`, `browser (wasm, Chrome/156.0.8078.114)`: how a target reads in every table. */
export function targetLabel(row: TargetFields): string {
  const details = [row.backend, row.browser].filter((d): d is string => d !== null);
  return details.length ? `${row.target} (${details.join(', ')})` : row.target;
}

/** Node first (the usual reference), then browsers; by label within each. */
function compareTargets(a: TargetFields, b: TargetFields): number {
  if (a.target !== b.target) return a.target === 'node' ? -1 : b.target === 'node' ? 1 : a.target < b.target ? -1 : 1;
  const la = targetLabel(a);
  const lb = targetLabel(b);
  return la < lb ? -1 : la > lb ? 1 : 0;
}

/** The distinct targets of the rows, in a fixed order (node first). */
export function distinctTargets(rows: readonly TargetFields[]): TargetFields[] {
  const byLabel = new Map<string, TargetFields>();
  for (const row of rows) {
    const label = targetLabel(row);
    if (!byLabel.has(label)) byLabel.set(label, { target: row.target, backend: row.backend, browser: row.browser });
  }
  return [...byLabel.values()].sort(compareTargets);
}
