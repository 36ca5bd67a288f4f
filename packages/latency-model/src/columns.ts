import { Bool, Float32, Float64, Int32, Table, Utf8, vectorFromArray, type DataType, type Vector } from 'apache-arrow';
import { z } from 'zod';
import { requireColumns, UserError, withSchemaMetadata, type ColumnKind } from '@lenna/core';
import { DARTS_OPS } from '@lenna/nn';
import { CELL_KINDS, type BatchedCellShape, type CellKind, type CellRow, type CellShape } from './cell.js';

/**
 * The latency data set's columns, written by dataset-gen and read by preprocess and predictor: one row
 * per measured cell. In order: the shape columns, one probability column per edge and op
 * (`p_e<edge>_<op>`), then the measurement columns. Schema metadata `lenna.ops` holds the op order,
 * `lenna.additive` the additive estimate's coefficients per shape (see AdditiveTable).
 */

/** The shape columns' values for one cell; `c_in` is the channel count of s1 (nn's `cPrev`). */
export interface ShapeColumnValues {
  block_type: 'normal' | 'reduction';
  reduction_prev: boolean;
  c_prev_prev: number;
  c_in: number;
  c: number;
  hw: number;
  batch: number | undefined;
  /** How the cell was built (nn's CellKind). */
  cell_kind: CellKind | undefined;
}

export const BLOCK_TYPES = ['normal', 'reduction'] as const;

/** The integer shape columns, in feature order, each with the CellShape field it holds. */
export const NUMERIC_SHAPE_COLUMNS = [
  { field: 'cPrevPrev', column: 'c_prev_prev' },
  { field: 'cPrev', column: 'c_in' },
  { field: 'c', column: 'c' },
  { field: 'hw', column: 'hw' },
  { field: 'batch', column: 'batch' },
] as const satisfies readonly { field: keyof BatchedCellShape; column: keyof ShapeColumnValues }[];

export type NumericShapeColumn = (typeof NUMERIC_SHAPE_COLUMNS)[number]['column'];

/** The one mapping from a CellShape to its columns (the dataset's, and every other file that names a shape). */
export function shapeColumnValues(shape: CellShape & { kind?: CellKind }): ShapeColumnValues {
  const values = { block_type: shape.reduction ? 'reduction' : 'normal', reduction_prev: shape.reductionPrev } as ShapeColumnValues;
  for (const { field, column } of NUMERIC_SHAPE_COLUMNS) values[column] = shape[field] as number;
  values.cell_kind = shape.kind;
  return values;
}

export const SHAPE_COLUMN_NAMES = ['block_type', 'reduction_prev', ...NUMERIC_SHAPE_COLUMNS.map((c) => c.column), 'cell_kind'] as const;

/**
 * Rows with equal keys have the same shape: the shape columns' values joined by `|` (see
 * SHAPE_KEY_LEGEND), e.g. `normal|false|12|12|4|16|16|search`; a field a shape lacks (batch, kind) is blank.
 */
export function shapeKey(shape: CellShape & { kind?: CellKind }): string {
  const values = shapeColumnValues(shape);
  return SHAPE_COLUMN_NAMES.map((name) => values[name] ?? '').join('|');
}

/** What each part of a shapeKey is, for messages that show one. */
export const SHAPE_KEY_LEGEND = SHAPE_COLUMN_NAMES.join('|');

/** `p_e<edge>_<op>`: the probability of `op` on `edge` (DARTS edge order, nn's cellEdges). */
export function probColumnName(edge: number, op: string): string {
  return `p_e${edge}_${op}`;
}

/** Every probability column, edge-major. */
export function probColumnNames(edges: number, ops: readonly string[]): string[] {
  const names: string[] = [];
  for (let e = 0; e < edges; e++) for (const op of ops) names.push(probColumnName(e, op));
  return names;
}

const PROB_COLUMN = /^p_e(\d+)_(.+)$/;

/** The op set and edge count a table's `p_e<edge>_<op>` columns describe; every edge must have every op. */
export function parseProbColumns(names: readonly string[], where: string): { ops: string[]; edges: number } {
  const seen = new Map<number, Set<string>>();
  for (const name of names) {
    const match = PROB_COLUMN.exec(name);
    if (!match) continue;
    const [, edgeText, op] = match;
    if (!(DARTS_OPS as readonly string[]).includes(op)) {
      throw new UserError(`${where}: column ${name} names op '${op}', which is not one of ${DARTS_OPS.join(', ')}.`);
    }
    const edge = Number(edgeText);
    if (!seen.has(edge)) seen.set(edge, new Set());
    seen.get(edge)!.add(op);
  }
  const edges = seen.size;
  if (edges === 0) throw new UserError(`${where}: no probability columns (p_e<edge>_<op>, e.g. p_e0_none) were found.`);
  // A data set's ops are nn's catalogue, in its order, filtered to those it has columns for.
  const ops = DARTS_OPS.filter((op) => seen.get(0)?.has(op));
  for (let edge = 0; edge < edges; edge++) {
    const opsHere = seen.get(edge);
    if (!opsHere) throw new UserError(`${where}: edges must be numbered 0..${edges - 1}, but edge ${edge} has no p_e${edge}_* columns.`);
    const missing = ops.filter((op) => !opsHere.has(op));
    const extra = [...opsHere].filter((op) => !ops.includes(op as (typeof DARTS_OPS)[number]));
    if (missing.length > 0 || extra.length > 0) {
      throw new UserError(`${where}: edge ${edge} has ops {${[...opsHere].join(', ')}} but edge 0 has {${ops.join(', ')}}; every edge needs the same op columns.`);
    }
  }
  return { ops, edges };
}

/**
 * The measurement columns, after the probabilities, in this order. `required` ones must be in every
 * data set a stage reads; a new column is one entry here (and its value where rows are made).
 */
export const MEASUREMENT_COLUMNS = {
  /** The cell's expected latency under its probabilities (dataset-gen's protocol), ms. */
  latency_ms: { kind: 'float', required: true },
  /** The standard error of latency_ms, ms. */
  se_ms: { kind: 'float', required: false },
  /** The additive op-lookup-table estimate of the same (Σ p·LUT + preprocessing), ms: a model input. */
  lut_latency_ms: { kind: 'float', required: true },
  /** The latency of the shape's reference cell that the row's timings were expressed against, ms. */
  reference_ms: { kind: 'float', required: false },
  /** Resets the measurement took, whether it converged, and the coefficient of variation it ended at. */
  resets: { kind: 'int', required: false },
  converged: { kind: 'bool', required: false },
  cv: { kind: 'float', required: false },
  /** Whether the row is a discrete cell (one op per edge), and the radius of α's range otherwise (0 then). */
  one_hot: { kind: 'bool', required: false },
  radius: { kind: 'float', required: false },
} as const satisfies Record<string, { kind: ColumnKind; required: boolean }>;

export type MeasurementColumn = keyof typeof MEASUREMENT_COLUMNS;

type ValueOf<K extends ColumnKind> = K extends 'bool' ? boolean : K extends 'utf8' ? string : number;

/** One row's measurement values, keyed by column name. */
export type MeasurementValues = { [C in MeasurementColumn]: ValueOf<(typeof MEASUREMENT_COLUMNS)[C]['kind']> };

/** Schema metadata key holding the op order of the `p_` columns as a JSON list. */
export const OPS_METADATA_KEY = 'lenna.ops';

/** Schema metadata key holding the AdditiveTable as JSON. */
export const ADDITIVE_METADATA_KEY = 'lenna.additive';

/**
 * The additive estimate of one shape as a linear function of its probabilities:
 * `Σ_e Σ_o p[e][o] · costs[e · ops + o] + constantMs` (ms; costs edge-major in the op order of the data
 * set, constantMs the two preprocessing ops). dataset-gen's lut_latency_ms is exactly this.
 */
export interface AdditiveCoefficients {
  costs: number[];
  constantMs: number;
}

/** The additive coefficients of every shape of a data set, by shapeKey. */
export type AdditiveTable = Record<string, AdditiveCoefficients>;

const additiveTableSchema = z.record(z.string(), z.object({ costs: z.array(z.number().min(0)), constantMs: z.number().min(0) }).strict());

/** Validate an AdditiveTable read from a file; every shape needs edges × ops costs. */
export function parseAdditiveTable(value: unknown, width: number, where: string): AdditiveTable {
  const parsed = additiveTableSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${where}: the additive coefficients are not valid (${issue.path.join('.') || 'root'}: ${issue.message}).`);
  }
  for (const [key, c] of Object.entries(parsed.data)) {
    if (c.costs.length !== width) throw new UserError(`${where}: the additive coefficients of shape ${key} have ${c.costs.length} costs; edges x ops is ${width}.`);
  }
  return parsed.data;
}

/** Σ p·costs + constant for flat edge-major probabilities. */
export function additiveMs(coefficients: AdditiveCoefficients, probs: ArrayLike<number>): number {
  let total = coefficients.constantMs;
  for (let j = 0; j < probs.length; j++) total += probs[j] * coefficients.costs[j];
  return total;
}

/** One row as the writer takes it: the cell, its [edge][op] probabilities, what was measured. */
export interface DatasetTableRow {
  shape: BatchedCellShape;
  probs: readonly (readonly number[])[];
  measured: MeasurementValues;
}

const SHAPE_COLUMN_TYPES: Record<keyof ShapeColumnValues, () => DataType> = {
  block_type: () => new Utf8(),
  reduction_prev: () => new Bool(),
  c_prev_prev: () => new Int32(),
  c_in: () => new Int32(),
  c: () => new Int32(),
  hw: () => new Int32(),
  batch: () => new Int32(),
  cell_kind: () => new Utf8(),
};

function arrowType(kind: ColumnKind): DataType {
  switch (kind) {
    case 'float':
      return new Float64();
    case 'int':
      return new Int32();
    case 'bool':
      return new Bool();
    case 'utf8':
      return new Utf8();
  }
}

/**
 * The data set table: shape, probability (Float32) and measurement columns, with the op order and (when
 * given) the additive coefficients of its shapes in the metadata.
 */
export function datasetTable(rows: readonly DatasetTableRow[], ops: readonly string[], edges: number, additive?: AdditiveTable): Table {
  const shapes = rows.map((r) => shapeColumnValues(r.shape));
  const columns: Record<string, Vector> = {};
  for (const name of SHAPE_COLUMN_NAMES) columns[name] = vectorFromArray(shapes.map((s) => s[name]), SHAPE_COLUMN_TYPES[name]());
  for (let e = 0; e < edges; e++) {
    ops.forEach((op, o) => {
      columns[probColumnName(e, op)] = vectorFromArray(rows.map((r) => r.probs[e][o]), new Float32());
    });
  }
  for (const [name, { kind }] of Object.entries(MEASUREMENT_COLUMNS)) {
    columns[name] = vectorFromArray(rows.map((r) => r.measured[name as MeasurementColumn]), arrowType(kind));
  }
  const meta: Record<string, string> = { [OPS_METADATA_KEY]: JSON.stringify(ops) };
  if (additive) meta[ADDITIVE_METADATA_KEY] = JSON.stringify(additive);
  return withSchemaMetadata(new Table(columns), meta);
}

/** The additive coefficients a data set's metadata holds (dataset-gen writes them), or undefined. */
export function readAdditiveTable(table: Table, where: string): AdditiveTable | undefined {
  const text = table.schema.metadata.get(ADDITIVE_METADATA_KEY);
  if (text === undefined) return undefined;
  const { ops, edges } = parseProbColumns(table.schema.fields.map((f) => f.name), where);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${where}: schema metadata ${ADDITIVE_METADATA_KEY} is not JSON (${(error as Error).message}); re-run dataset-gen.`);
  }
  return parseAdditiveTable(value, edges * ops.length, `${where} (${ADDITIVE_METADATA_KEY})`);
}

/** The columns a data set must have for its rows to be read. */
const REQUIRED_COLUMNS: Record<string, ColumnKind> = {
  block_type: 'utf8',
  reduction_prev: 'bool',
  ...Object.fromEntries(NUMERIC_SHAPE_COLUMNS.map(({ column }) => [column, 'int'])),
  ...Object.fromEntries(Object.entries(MEASUREMENT_COLUMNS).filter(([, c]) => c.required).map(([name, c]) => [name, c.kind])),
};

export interface DatasetRows {
  rows: CellRow[];
  ops: string[];
  edges: number;
}

/** A numeric column as finite numbers; `where` names the file in errors. */
export function numberColumn(table: Table, name: string, where: string): Float64Array {
  const vector = table.getChild(name);
  if (!vector) throw new UserError(`${where}: column '${name}' is missing; a LENNA dataset table has it (see packages/latency-model/README.md).`);
  const out = new Float64Array(table.numRows);
  for (let i = 0; i < out.length; i++) {
    const value = Number(vector.get(i));
    if (!Number.isFinite(value)) throw new UserError(`${where}: column '${name}' row ${i} is ${vector.get(i)}; a finite number is needed.`);
    out[i] = value;
  }
  return out;
}

/** A measurement column, checked against its declared kind; `where` names the file in errors. */
export function measurementColumn(table: Table, name: MeasurementColumn, where: string): Float64Array {
  requireColumns(table, { [name]: MEASUREMENT_COLUMNS[name].kind }, where);
  return numberColumn(table, name, where);
}

/** The cell_kind column; a data set from before it existed timed search cells only. */
function cellKinds(table: Table, where: string): CellKind[] {
  const column = table.getChild('cell_kind');
  return Array.from({ length: table.numRows }, (_, i) => {
    if (!column) return 'search';
    const kind = column.get(i);
    if (!(CELL_KINDS as readonly unknown[]).includes(kind)) throw new UserError(`${where}: cell_kind row ${i} is '${kind}'; it must be 'search' or 'eval'.`);
    return kind as CellKind;
  });
}

/** Read a data set table into cell rows (nn's field names); `where` names the file in errors. */
export function readCellRows(table: Table, where: string): DatasetRows {
  const { ops, edges } = parseProbColumns(table.schema.fields.map((f) => f.name), where);
  requireColumns(table, REQUIRED_COLUMNS, where);
  const blockType = table.getChild('block_type')!;
  const reductionPrev = table.getChild('reduction_prev')!;
  const numeric = NUMERIC_SHAPE_COLUMNS.map(({ field, column }) => ({ field, values: numberColumn(table, column, where) }));
  const latency = numberColumn(table, 'latency_ms', where);
  const additive = numberColumn(table, 'lut_latency_ms', where);
  const kinds = cellKinds(table, where);
  const probColumns = probColumnNames(edges, ops).map((name) => numberColumn(table, name, where));
  const rows: CellRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const type = blockType.get(i);
    if (!(BLOCK_TYPES as readonly unknown[]).includes(type)) {
      throw new UserError(`${where}: block_type row ${i} is '${type}'; it must be 'normal' or 'reduction'.`);
    }
    if (latency[i] <= 0) throw new UserError(`${where}: latency_ms row ${i} is ${latency[i]}; latencies must be positive.`);
    if (additive[i] <= 0) throw new UserError(`${where}: lut_latency_ms row ${i} is ${additive[i]}; the additive estimate must be positive.`);
    const row = { reduction: type === 'reduction', reductionPrev: Boolean(reductionPrev.get(i)), kind: kinds[i] } as CellRow;
    for (const { field, values } of numeric) row[field] = values[i];
    row.probs = Float32Array.from(probColumns, (col) => col[i]);
    row.latencyMs = latency[i];
    row.additiveMs = additive[i];
    rows.push(row);
  }
  return { rows, ops, edges };
}
