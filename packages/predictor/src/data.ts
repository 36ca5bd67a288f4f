import { readFile } from 'node:fs/promises';
import { readArrowFile, UserError, type InputArtifact } from '@lenna/core';
import { applyTransforms, measurementColumn, msToTarget, parseTransforms, readCellRows, type CellRow, type Transforms } from '@lenna/latency-model';
import type { SplitData } from './train.js';

export interface PreparedSplit extends SplitData {
  rows: CellRow[];
  /** Measured latency (ms) per row. */
  ms: Float64Array;
  /** The additive lookup-table estimate (ms) per row. */
  lutMs: Float64Array;
}

function onlyFile(input: InputArtifact, name: string, preferred: string, extension: string): string {
  if (input.files.includes(preferred)) return input.path(preferred);
  const matches = input.files.filter((f) => f.endsWith(extension));
  if (matches.length !== 1) {
    throw new UserError(`Input '${name}' (${input.id}) should hold ${preferred} or exactly one ${extension} file; it holds ${input.files.join(', ') || 'nothing'}.`);
  }
  return input.path(matches[0]);
}

export async function readTransformsInput(input: InputArtifact): Promise<Transforms> {
  const path = onlyFile(input, 'transforms', 'transforms.json', '.json');
  return parseTransforms(JSON.parse(await readFile(path, 'utf8')), path);
}

/** Read one split table and turn it into model inputs with the fitted transforms. */
export async function readSplit(input: InputArtifact, name: string, t: Transforms): Promise<PreparedSplit> {
  const path = onlyFile(input, name, `${name}.arrow`, '.arrow');
  const table = await readArrowFile(path);
  const lutMs = measurementColumn(table, 'lut_latency_ms', path);
  const { rows, ops, edges } = readCellRows(table, path);
  if (ops.join() !== t.ops.join() || edges !== t.edges) {
    throw new UserError(`${path} has ${edges} edges x ops [${ops}] but the transforms were fitted on ${t.edges} x [${t.ops}]; use preprocess outputs from one run.`);
  }
  if (rows.length === 0) throw new UserError(`${path} has no rows; preprocess puts every shape in every split, so re-run it.`);
  return {
    rows,
    x: applyTransforms(t, rows),
    y: Float32Array.from(rows, (r) => msToTarget(t, r.latencyMs)),
    ms: Float64Array.from(rows, (r) => r.latencyMs),
    lutMs,
  };
}
