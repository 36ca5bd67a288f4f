import { UserError } from '@lenna/core';
import { parseCommandArgs, requirePositional } from '../args.js';
import { help } from './pipeline.js';
import { printJson } from './output.js';

export const dataHelp = `lenna data check <dataset> [--path <dir>] [--seed N] [--json]

Checks an image data set (mnist, cifar10, fashion-mnist, synthetic): that it can be found and read, its sizes and classes.

Example: lenna data check cifar10 --path ~/data/cifar-10-batches-bin
         lenna data check fashion-mnist            # Debian's files (apt-get install dataset-fashion-mnist)
         lenna data check mnist --seed 0 --json`;

type CheckDataset = (name: string, opts: { path?: string; seed?: number }) => Promise<unknown>;

export async function dataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) return help(dataHelp);
  if (sub !== 'check') throw new UserError(`lenna data: unknown subcommand "${sub}"; use lenna data check <dataset>.`);
  const { values, positionals } = parseCommandArgs('data check', rest, { path: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return help(dataHelp);
  const name = requirePositional('data check', positionals, 'the data set name (e.g. mnist)');
  const checkDataset = await loadCheckDataset();
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new UserError(`lenna data check: --seed ${String(values.seed)} is not an integer; give e.g. --seed 0.`);
  const result = await checkDataset(name, { path: values.path as string | undefined, seed });
  if (values.json) printJson(result);
  else process.stdout.write(renderTable(result));
  return 0;
}

async function loadCheckDataset(): Promise<CheckDataset> {
  // A variable specifier keeps tsc from requiring @lenna/data at build time: the runner builds without it.
  const specifier = '@lenna/data';
  const mod = (await import(specifier).catch(() => undefined)) as { checkDataset?: CheckDataset } | undefined;
  if (!mod?.checkDataset) throw new UserError('lenna data check: @lenna/data (with its checkDataset export) is not built; run npx nx build data.');
  return mod.checkDataset;
}

interface SplitSummary {
  count: number;
  classHistogram?: number[];
}

/** One line per split (count and class histogram), then the other fields as key/value lines. */
function renderTable(value: unknown): string {
  if (value === null || typeof value !== 'object') return `${String(value)}\n`;
  const { splits, ...rest } = value as { splits?: Record<string, SplitSummary> };
  const lines: string[] = [];
  if (splits && typeof splits === 'object') {
    lines.push('split   count  classes');
    for (const [name, s] of Object.entries(splits)) lines.push(`${name.padEnd(6)}  ${String(s.count).padStart(5)}  ${(s.classHistogram ?? []).join(' ')}`);
  }
  return lines.map((l) => `${l}\n`).join('') + renderFields(rest);
}

function renderFields(value: object): string {
  const entries = Object.entries(value as Record<string, unknown>);
  const width = Math.max(...entries.map(([k]) => k.length), 4);
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n') + '\n';
}
