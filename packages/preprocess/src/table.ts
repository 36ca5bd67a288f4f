import { Schema, Table, vectorFromArray, type Vector } from 'apache-arrow';

/** The rows `indices` of `table`, every column with its type and the schema metadata kept. */
export function takeRows(table: Table, indices: readonly number[]): Table {
  const columns: Record<string, Vector> = {};
  for (const field of table.schema.fields) {
    const source = table.getChild(field.name)!;
    columns[field.name] = vectorFromArray(indices.map((i) => source.get(i)), field.type);
  }
  const taken = new Table(columns);
  return new Table(new Schema(taken.schema.fields, table.schema.metadata), taken.batches);
}
