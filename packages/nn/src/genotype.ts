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

/** One kept edge of a derived cell: its row in α, the op (column) chosen on it, and the node it reads. */
interface Choice {
  edge: number;
  op: number;
  input: number;
}

/**
 * The official `_parse` on softmax weights `w`: per node the two incoming edges whose best
 * non-`none` weight is largest, each with that best op. A weight of −∞ is never chosen.
 */
function chooseEdges(w: number[][], ops: readonly string[]): Choice[] {
  const nodes = nodesForEdges(w.length);
  const candidates = ops.map((_, k) => k).filter((k) => ops[k] !== 'none');
  const best = (row: number[]) => candidates.reduce((b, k) => (row[k] > row[b] ? k : b), candidates[0]);
  const choices: Choice[] = [];
  let start = 0;
  for (let node = 0; node < nodes; node++) {
    const rows = w.slice(start, start + node + 2);
    const order = rows.map((_, j) => j).sort((a, b) => rows[b][best(rows[b])] - rows[a][best(rows[a])]);
    for (const j of order.slice(0, 2)) choices.push({ edge: start + j, op: best(rows[j]), input: j });
    start += node + 2;
  }
  return choices;
}

const genesOf = (choices: Choice[], ops: readonly string[]): [OpName, number][] => choices.map((c) => [ops[c.op] as OpName, c.input]);

/**
 * One cell's genes as the official `_parse`: on softmax(α) rows, keep per node the two incoming
 * edges with the largest non-`none` weight, and on each edge its best non-`none` op.
 */
export function parseCellAlphas(alphas: number[][], ops: readonly string[]): [OpName, number][] {
  return genesOf(chooseEdges(alphas.map(softmaxRow), ops), ops);
}

/**
 * P-DARTS's limit on skip connections at derivation (Chen et al. 2019, §3.3, as in their code's
 * `delete_min_sk_prob`): while the derived cell keeps more than `maxSkips` skip_connect edges, the
 * kept skip with the lowest softmax weight is struck from its edge (its weight set to −∞; P-DARTS
 * sets the probability to 0) and the whole cell is derived again from the weights. The struck edge
 * then either keeps its best other op or yields its place among its node's two to a stronger edge,
 * which may itself be a skip, so the loop goes on until at most `maxSkips` remain. Ties strike the
 * lower edge index. Each pass strikes a new edge, so it ends within one pass per edge.
 */
export function parseCellAlphasMaxSkips(alphas: number[][], ops: readonly string[], maxSkips: number): [OpName, number][] {
  if (!Number.isInteger(maxSkips) || maxSkips < 0) throw new UserError(`maxSkips is ${maxSkips}; it must be a whole number ≥ 0, or null for no limit.`);
  const skip = ops.indexOf('skip_connect');
  const w = alphas.map(softmaxRow);
  let choices = chooseEdges(w, ops);
  for (;;) {
    const skips = choices.filter((c) => c.op === skip);
    if (skips.length <= maxSkips) return genesOf(choices, ops);
    if (!ops.some((o) => o !== 'none' && o !== 'skip_connect')) {
      throw new UserError(`maxSkips is ${maxSkips}, but the op set (${ops.join(', ')}) has no op other than none and skip_connect to take a skip's place; add one or set maxSkips to null.`);
    }
    const weakest = skips.reduce((a, b) => (w[b.edge][skip] < w[a.edge][skip] || (w[b.edge][skip] === w[a.edge][skip] && b.edge < a.edge) ? b : a));
    w[weakest.edge][skip] = -Infinity;
    choices = chooseEdges(w, ops);
  }
}

/** Options of the derivation. */
export interface DeriveOptions {
  /** At most this many skip_connect edges in the normal cell (P-DARTS); null or absent: no limit. */
  maxSkips?: number | null;
}

/** The genotype α gives: the official derivation, then P-DARTS's skip limit on the normal cell when `maxSkips` is set. */
export function genotypeFromAlphas(normal: number[][], reduce: number[][], ops: readonly string[], opts: DeriveOptions = {}): Genotype {
  if (!ops.some((o) => o !== 'none')) throw new UserError('A genotype needs an op set with at least one op other than none.');
  const nodes = nodesForEdges(normal.length);
  const concat = Array.from({ length: nodes }, (_, i) => i + 2);
  const { maxSkips } = opts;
  const normalGenes = maxSkips === null || maxSkips === undefined ? parseCellAlphas(normal, ops) : parseCellAlphasMaxSkips(normal, ops, maxSkips);
  return { normal: normalGenes, normal_concat: concat, reduce: parseCellAlphas(reduce, ops), reduce_concat: [...concat] };
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

