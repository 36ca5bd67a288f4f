import { readFile } from 'node:fs/promises';
import {
  Bool,
  DataType,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Table,
  Utf8,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import { UserError, errorMessage } from './errors.js';
import { fsyncPath, writeTextFile } from './fsutil.js';

export const ARROW_FORMAT_VERSION_KEY = 'lenna.format_version';
export const ARROW_FORMAT_VERSION = '1';

/** Write an Arrow IPC *file* (random access, with footer), stamping the LENNA format version into the schema metadata. */
export async function writeArrowFile(path: string, table: Table, meta: Record<string, string> = {}): Promise<void> {
  const metadata = new Map([...table.schema.metadata, ...Object.entries(meta), [ARROW_FORMAT_VERSION_KEY, ARROW_FORMAT_VERSION]]);
  const schema = new Schema(table.schema.fields, metadata, table.schema.dictionaries);
  const stamped = new Table(schema, table.batches.map((batch) => new RecordBatch(schema, batch.data)));
  await writeTextFile(path, tableToIPC(stamped, 'file'));
  await fsyncPath(path);
}

/** The table with these entries added to (or replacing those in) its schema metadata. */
export function withSchemaMetadata(table: Table, meta: Record<string, string>): Table {
  const schema = new Schema(table.schema.fields, new Map([...table.schema.metadata, ...Object.entries(meta)]), table.schema.dictionaries);
  return new Table(schema, table.batches.map((batch) => new RecordBatch(schema, batch.data)));
}

/** Read an Arrow IPC file (or stream); a file from a newer LENNA format is refused rather than misread. */
export async function readArrowFile(path: string): Promise<Table> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UserError(`cannot read Arrow file ${path}: ${errorMessage(error)}`);
  }
  const table = decodeArrow(bytes, path);
  const version = table.schema.metadata.get(ARROW_FORMAT_VERSION_KEY);
  if (version !== undefined && version !== ARROW_FORMAT_VERSION) {
    throw new UserError(`${path} has ${ARROW_FORMAT_VERSION_KEY} "${version}", but this LENNA reads only "${ARROW_FORMAT_VERSION}"`);
  }
  return table;
}

function decodeArrow(bytes: Uint8Array, path: string): Table {
  try {
    return tableFromIPC(bytes);
  } catch (error) {
    throw new UserError(`${path} is not a readable Arrow IPC file: ${errorMessage(error)}`);
  }
}

export type ColumnKind = 'float' | 'int' | 'utf8' | 'bool';

/** The kind of an Arrow type, seeing through dictionary encoding (tableFromArrays makes strings dictionaries). */
export function columnKind(type: DataType): ColumnKind | undefined {
  const valueType = DataType.isDictionary(type) ? type.dictionary : type;
  if (DataType.isFloat(valueType)) return 'float';
  if (DataType.isInt(valueType)) return 'int';
  if (DataType.isUtf8(valueType) || DataType.isLargeUtf8(valueType)) return 'utf8';
  if (DataType.isBool(valueType)) return 'bool';
  return undefined;
}

/** Check that `table` has each column of `spec` with the right kind; the error names the column and `where`. */
export function requireColumns(table: Table, spec: Record<string, ColumnKind>, where: string): void {
  for (const [name, kind] of Object.entries(spec)) {
    const field = table.schema.fields.find((f) => f.name === name);
    if (!field) {
      const present = table.schema.fields.map((f) => f.name).join(', ') || 'none';
      throw new UserError(`${where} has no column "${name}" (${kind} expected); its columns are: ${present}`);
    }
    const actual = columnKind(field.type);
    if (actual !== kind) {
      throw new UserError(`${where}: column "${name}" is ${String(field.type)}, but a ${kind} column is expected`);
    }
  }
}

export type RowValue = number | string | boolean | bigint | null;
/** Column types for tableFromRows: 'int' is Int32, 'int64' is Int64 (bigint values), 'float' is Float64. */
export type RowColumnType = ColumnKind | 'int64';

/**
 * Build a table from plain row objects. Column order is the order keys first appear. A column's type
 * comes from `types`, else from its first non-null value (numbers become Float64); missing values are null.
 */
export function tableFromRows(rows: Record<string, RowValue>[], types: Record<string, RowColumnType> = {}): Table {
  const names = columnNames(rows, types);
  const columns: Record<string, Vector> = {};
  for (const name of names) {
    const values = rows.map((row) => row[name] ?? null);
    const type = types[name] ?? inferType(values, name);
    columns[name] = vectorFromArray(values.map((v) => coerce(v, type, name)), arrowType(type));
  }
  return new Table(columns);
}

function columnNames(rows: Record<string, RowValue>[], types: Record<string, RowColumnType>): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) names.add(key);
  for (const key of Object.keys(types)) names.add(key);
  return [...names];
}

function inferType(values: RowValue[], name: string): RowColumnType {
  const first = values.find((v) => v !== null);
  switch (typeof first) {
    case 'number':
      return 'float';
    case 'string':
      return 'utf8';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int64';
    default:
      throw new Error(`tableFromRows: column "${name}" has only nulls; give its type in \`types\``);
  }
}

function coerce(value: RowValue, type: RowColumnType, name: string): RowValue {
  if (value === null) return null;
  const ok =
    (type === 'float' && typeof value === 'number') ||
    (type === 'int' && typeof value === 'number' && Number.isInteger(value) && value === (value | 0)) ||
    (type === 'int64' && (typeof value === 'bigint' || Number.isSafeInteger(value))) ||
    (type === 'utf8' && typeof value === 'string') ||
    (type === 'bool' && typeof value === 'boolean');
  if (!ok) throw new Error(`tableFromRows: column "${name}" is ${type}, but a row holds ${typeof value} ${String(value)}`);
  return type === 'int64' ? BigInt(value as number | bigint) : value;
}

function arrowType(type: RowColumnType): DataType {
  switch (type) {
    case 'float':
      return new Float64();
    case 'int':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'utf8':
      return new Utf8();
    case 'bool':
      return new Bool();
  }
}

/** Rows as plain objects (Int64 values stay bigint). */
export function tableToRows(table: Table): Record<string, unknown>[] {
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((name) => table.getChild(name));
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, unknown> = {};
    names.forEach((name, c) => Object.defineProperty(row, name, { value: columns[c]?.get(i) ?? null, enumerable: true, writable: true, configurable: true }));
    rows.push(row);
  }
  return rows;
}

/** Column names and types, as the manifest records them. */
export function tableSchemaSummary(table: Table): { name: string; type: string }[] {
  return table.schema.fields.map((f) => ({ name: f.name, type: String(f.type) }));
}
