import { z } from 'zod';
import { UserError } from './errors.js';
import { DARTS_OPS, isOpName, type OpName } from './ops.js';
import { nodesForEdges } from './shapes.js';

/** The official DARTS Genotype: per intermediate node two [op, input node] pairs; inputs 0, 1 are the cell inputs. */
export interface Genotype {
  normal: [OpName, number][];
  normal_concat: number[];
  reduce: [OpName, number][];
  reduce_concat: number[];
}

const opNameSchema = z.string().refine(isOpName, { message: `op must be one of ${DARTS_OPS.join(', ')}` });
const geneSchema = z.array(z.tuple([opNameSchema, z.number().int().nonnegative()]));

/** Reads a user's genotype JSON (official DARTS format) and checks that its wiring is a valid cell. */
export const GenotypeSchema = z
  .object({
    normal: geneSchema,
    normal_concat: z.array(z.number().int()),
    reduce: geneSchema,
    reduce_concat: z.array(z.number().int()),
  })
  .strict()
  .superRefine((g, ctx) => {
    for (const part of ['normal', 'reduce'] as const) {
      const problem = wiringProblem(g[part] as [OpName, number][], g[`${part}_concat`]);
      if (problem) ctx.addIssue({ code: 'custom', path: [part], message: problem });
    }
  }) as unknown as z.ZodType<Genotype>;

function wiringProblem(gene: [OpName, number][], concat: number[]): string | null {
  if (gene.length === 0 || gene.length % 2 !== 0) return `needs two [op, input] pairs per node, got ${gene.length} pairs`;
  const nodes = gene.length / 2;
  for (let i = 0; i < gene.length; i++) {
    const node = Math.floor(i / 2);
    if (gene[i][1] >= node + 2) return `pair ${i} of node ${node} reads node ${gene[i][1]}, but node ${node} can read only 0..${node + 1}`;
    if (gene[i][0] === 'none') return `pair ${i} uses none, which a genotype never keeps`;
  }
  for (const c of concat) if (c < 0 || c >= nodes + 2) return `concat has ${c}, but nodes are 0..${nodes + 1}`;
  if (concat.length === 0) return 'concat is empty';
  return null;
}

/** Parses and validates a genotype; `where` names the file or key in the error. */
export function parseGenotype(value: unknown, where = 'genotype'): Genotype {
  const r = GenotypeSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UserError(`${where} is not a DARTS genotype at ${issue.path.join('.') || '(root)'}: ${issue.message}.`);
  }
  return r.data;
}

function softmaxRow(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * One cell's genes as the official `_parse`: on softmax(α) rows, keep per node the two incoming
 * edges with the largest non-`none` weight, and on each edge its best non-`none` op.
 */
export function parseCellAlphas(alphas: number[][], ops: readonly string[]): [OpName, number][] {
  const nodes = nodesForEdges(alphas.length);
  const w = alphas.map(softmaxRow);
  const candidates = ops.map((_, k) => k).filter((k) => ops[k] !== 'none');
  const best = (row: number[]) => candidates.reduce((b, k) => (row[k] > row[b] ? k : b), candidates[0]);
  const genes: [OpName, number][] = [];
  let start = 0;
  for (let node = 0; node < nodes; node++) {
    const rows = w.slice(start, start + node + 2);
    const order = rows.map((_, j) => j).sort((a, b) => rows[b][best(rows[b])] - rows[a][best(rows[a])]);
    for (const j of order.slice(0, 2)) genes.push([ops[best(rows[j])] as OpName, j]);
    start += node + 2;
  }
  return genes;
}

export function genotypeFromAlphas(normal: number[][], reduce: number[][], ops: readonly string[]): Genotype {
  if (!ops.some((o) => o !== 'none')) throw new UserError('A genotype needs an op set with at least one op other than none.');
  const nodes = nodesForEdges(normal.length);
  const concat = Array.from({ length: nodes }, (_, i) => i + 2);
  return { normal: parseCellAlphas(normal, ops), normal_concat: concat, reduce: parseCellAlphas(reduce, ops), reduce_concat: [...concat] };
}

const defaultConcat = (gene: unknown[]) => Array.from({ length: gene.length / 2 }, (_, i) => i + 2);
const sameList = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

function cellText(gene: [OpName, number][], concat: number[]): string {
  const nodes: string[] = [];
  for (let i = 0; i < gene.length; i += 2) nodes.push(gene.slice(i, i + 2).map(([op, j]) => `${op}(${j})`).join(' '));
  const tail = sameList(concat, defaultConcat(gene)) ? '' : ` cat(${concat.join(',')})`;
  return nodes.join(' | ') + tail;
}

/** One line for tables: `N: sep_conv_3x3(0) sep_conv_3x3(1) | ... ; R: ...`, concat shown only when not all nodes. */
export function genotypeToText(g: Genotype): string {
  return `N: ${cellText(g.normal, g.normal_concat)} ; R: ${cellText(g.reduce, g.reduce_concat)}`;
}

function parseCellText(text: string, where: string): { gene: [OpName, number][]; concat: number[] } {
  let body = text.trim();
  let concat: number[] | undefined;
  const cat = /\scat\(([\d,\s]*)\)$/.exec(body);
  if (cat) {
    concat = cat[1].split(',').map((v) => Number(v.trim()));
    body = body.slice(0, cat.index).trim();
  }
  const gene: [OpName, number][] = [];
  for (const token of body.split(/[\s|]+/).filter(Boolean)) {
    const m = /^([a-z0-9_]+)\((\d+)\)$/.exec(token);
    if (!m) throw new UserError(`${where}: "${token}" is not op(input), e.g. sep_conv_3x3(0).`);
    gene.push([m[1] as OpName, Number(m[2])]);
  }
  return { gene, concat: concat ?? defaultConcat(gene) };
}

/** Parses genotypeToText's form back (and validates it like a JSON genotype). */
export function genotypeFromText(text: string): Genotype {
  const m = /^\s*N:(.*);\s*R:(.*)$/.exec(text);
  if (!m) throw new UserError(`Genotype text "${text}" must look like "N: <ops> ; R: <ops>".`);
  const n = parseCellText(m[1], 'genotype text N');
  const r = parseCellText(m[2], 'genotype text R');
  return parseGenotype({ normal: n.gene, normal_concat: n.concat, reduce: r.gene, reduce_concat: r.concat }, `genotype text "${text}"`);
}

export interface OpCounts {
  sep: number;
  dil: number;
  pool: number;
  skip: number;
}

function countGene(gene: [OpName, number][]): OpCounts {
  const c: OpCounts = { sep: 0, dil: 0, pool: 0, skip: 0 };
  for (const [op] of gene) {
    if (op.startsWith('sep_conv')) c.sep++;
    else if (op.startsWith('dil_conv')) c.dil++;
    else if (op.endsWith('pool_3x3')) c.pool++;
    else if (op === 'skip_connect') c.skip++;
  }
  return c;
}

/** How many separable, dilated, pooling and skip ops each cell type keeps. */
export function genotypeOpCounts(g: Genotype): { normal: OpCounts; reduce: OpCounts } {
  return { normal: countGene(g.normal), reduce: countGene(g.reduce) };
}

