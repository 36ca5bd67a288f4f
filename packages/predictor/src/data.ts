import { readFile } from 'node:fs/promises';
import { readArrowFile, UserError, type InputArtifact } from '@lenna/core';
import type { Table } from 'apache-arrow';
import {
  applyTransforms,
  MEASUREMENT_COLUMNS,
  msToTarget,
  parseTransforms,
  readAdditiveTable,
  readCellRows,
  shapeKey,
  type AdditiveTable,
  type CellRow,
  type ModelBase,
  type Transforms,
} from '@lenna/latency-model';
import type { SplitData } from './train.js';

export interface PreparedSplit extends SplitData {
  rows: CellRow[];
  /** Measured latency (ms) per row. */
  ms: Float64Array;
  /** The additive lookup-table estimate (ms) per row. */
  lutMs: Float64Array;
  /** Standard error (ms) of each measured latency; NaN where the data set has none. */
  seMs: Float64Array;
  /** Whether each row is a discrete cell (false where the data set does not say). */
  oneHot: boolean[];
  shapeKeys: string[];
  /** The additive coefficients per shape (dataset-gen's `lenna.additive` metadata), when the table has them. */
  additive: AdditiveTable | undefined;
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

/** An optional numeric measurement column, NaN where it is absent or null. */
function optionalColumn(table: Table, name: keyof typeof MEASUREMENT_COLUMNS): Float64Array {
  const column = table.getChild(name);
  return Float64Array.from({ length: table.numRows }, (_, i) => (column ? Number(column.get(i) ?? NaN) : NaN));
}

/** Read one split table and turn it into model inputs with the fitted transforms; the target follows the model's base. */
export async function readSplit(input: InputArtifact, name: string, t: Transforms, base: ModelBase): Promise<PreparedSplit> {
  const path = onlyFile(input, name, `${name}.arrow`, '.arrow');
  const table = await readArrowFile(path);
  const { rows, ops, edges } = readCellRows(table, path);
  if (ops.join() !== t.ops.join() || edges !== t.edges) {
    throw new UserError(`${path} has ${edges} edges x ops [${ops}] but the transforms were fitted on ${t.edges} x [${t.ops}]; use preprocess outputs from one run.`);
  }
  if (rows.length === 0) throw new UserError(`${path} has no rows; preprocess puts every shape in every split, so re-run it.`);
  const oneHot = table.getChild('one_hot');
  return {
    rows,
    x: applyTransforms(t, rows),
    y: Float32Array.from(rows, (r) => msToTarget(t, r.latencyMs, base, r.additiveMs)),
    ms: Float64Array.from(rows, (r) => r.latencyMs),
    lutMs: Float64Array.from(rows, (r) => r.additiveMs),
    seMs: optionalColumn(table, 'se_ms'),
    oneHot: rows.map((_, i) => Boolean(oneHot?.get(i))),
    shapeKeys: rows.map(shapeKey),
    additive: readAdditiveTable(table, path),
  };
}
