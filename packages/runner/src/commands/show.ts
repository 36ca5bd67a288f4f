import { readFile, stat, writeFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { ArtifactStore, isArtifactId, readArrowFile, readSafetensorsFile, resolveStoreRoot, tableSchemaSummary, tableToRows, UserError } from '@lenna/core';
import { intOption, parseCommandArgs, requirePositional } from '../args.js';
import { findLockEntries } from './locks.js';
import { help } from './pipeline.js';
import { jsonSafe, printJson } from './output.js';

export const showHelp = `lenna show <artifact id | stage instance id | file.arrow | file.safetensors | file.json> [--json] [--limit N] [--pipeline p.yaml] [--path] [--svg out.svg]

Shows an artifact's manifest and files, a table's schema and first rows, a safetensors file's tensors
and metadata, or a JSON file. A stage instance id is looked up in the pipeline's lock file (--pipeline,
or the only lock file under pipelines/ that has it).

--path prints where the files are instead: an artifact's folder; for a stage instance one line
"<output> <folder>" per output (--json: {"<output>": "<folder>"}); a file's absolute path.

--svg out.svg draws a genotype instead: its normal and reduction cells as one SVG (a genotype artifact
of darts-search or random-cell, the instance that made it, or a genotype.json file).

Example: lenna show artifacts/objects/<id>/history.arrow --limit 5
         lenna show 'darts-search@lambda=1' --pipeline pipelines/quickstart.yaml --svg cell.svg
         lenna show 'darts-search@lambda=0' --pipeline pipelines/quickstart.yaml --path`;

type Shown = Record<string, unknown>;

export async function showCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('show', argv, {
    json: { type: 'boolean' },
    limit: { type: 'string' },
    pipeline: { type: 'string' },
    path: { type: 'boolean' },
    svg: { type: 'string' },
  });
  if (values.help) return help(showHelp);
  const target = requirePositional('show', positionals, 'what to show (an artifact id, a stage instance id or a file)');
  if (values.svg !== undefined) return drawGenotype(target, values.svg as string, values.pipeline as string | undefined);
  if (values.path) return showPaths(target, Boolean(values.json), values.pipeline as string | undefined);
  const limit = intOption('show', 'limit', values.limit as string | undefined);
  const shown = await showTarget(target, { limit, json: Boolean(values.json), pipeline: values.pipeline as string | undefined });
  if (values.json) printJson(shown);
  else process.stdout.write(renderText(shown));
  return 0;
}

interface ShowOptions {
  limit?: number;
  json: boolean;
  pipeline?: string;
}

async function showTarget(target: string, opts: ShowOptions): Promise<Shown> {
  if (await isFile(target)) return showFile(resolve(target), opts);
  const store = new ArtifactStore(resolveStoreRoot());
  if (isArtifactId(target)) return showArtifact(store, target, opts);
  const entry = await findLockEntries(target, opts.pipeline);
  const outputs: Record<string, Shown> = {};
  for (const [name, id] of Object.entries(entry.outputs)) outputs[name] = await showArtifact(store, id, opts);
  return { instance: target, stage: entry.stage, key: entry.key, params: entry.params, outputs };
}

/** Where a target's files are on disk: the way from a lock file entry to pandas, numpy or a shell. */
async function showPaths(target: string, json: boolean, pipeline: string | undefined): Promise<number> {
  const folder = async (store: ArtifactStore, id: string): Promise<string> => {
    const artifact = await store.open(id);
    if (!artifact) throw new UserError(`artifact ${id} is not in the store ${store.root}; run the pipeline that makes it, or check the id.`);
    return artifact.dir;
  };
  let paths: string | Record<string, string>;
  if (await isFile(target)) paths = resolve(target);
  else {
    const store = new ArtifactStore(resolveStoreRoot());
    if (isArtifactId(target)) paths = await folder(store, target);
    else {
      const entry = await findLockEntries(target, pipeline);
      paths = {};
      for (const [name, id] of Object.entries(entry.outputs)) paths[name] = await folder(store, id);
    }
  }
  if (json) printJson(paths);
  else if (typeof paths === 'string') process.stdout.write(`${paths}\n`);
  else for (const [name, dir] of Object.entries(paths)) process.stdout.write(`${name} ${dir}\n`);
  return 0;
}

/** The genotype.json a target stands for: the file itself, a genotype artifact's, or an instance's `genotype` output's. */
async function genotypeFile(target: string, pipeline: string | undefined): Promise<string> {
  if (await isFile(target)) return resolve(target);
  const store = new ArtifactStore(resolveStoreRoot());
  let id = target;
  if (!isArtifactId(target)) {
    const entry = await findLockEntries(target, pipeline);
    if (!entry.outputs.genotype) {
      throw new UserError(`${target} has no 'genotype' output (its outputs: ${Object.keys(entry.outputs).join(', ')}); give a darts-search or random-cell instance, or a genotype.json.`);
    }
    id = entry.outputs.genotype;
  }
  const artifact = await store.open(id);
  if (!artifact) throw new UserError(`artifact ${id} is not in the store ${store.root}; run the pipeline that makes it, or check the id.`);
  const jsons = artifact.files.filter((f) => f.endsWith('.json'));
  const file = jsons.includes('genotype.json') ? 'genotype.json' : jsons.length === 1 ? jsons[0] : undefined;
  if (!file) throw new UserError(`artifact ${id} holds no genotype.json (its files: ${artifact.files.join(', ')}); give a genotype artifact.`);
  return join(artifact.dir, file);
}

/** `--svg`: both cells of a genotype drawn by @lenna/cell-diagram, loaded only here (Graphviz is WebAssembly of some size). */
async function drawGenotype(target: string, out: string, pipeline: string | undefined): Promise<number> {
  if (!out) throw new UserError('lenna show --svg needs the file to write, e.g. --svg cell.svg.');
  const file = await genotypeFile(target, pipeline);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new UserError(`${file}: not valid JSON; expected a DARTS genotype.`);
  }
  const { genotypeSvgFromJson } = await import('@lenna/cell-diagram');
  await writeFile(resolve(out), await genotypeSvgFromJson(value, file, target));
  process.stdout.write(`${out}: the normal and reduction cells of ${target}\n`);
  return 0;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

export async function showArtifact(store: ArtifactStore, id: string, opts: ShowOptions): Promise<Shown> {
  const artifact = await store.open(id);
  if (!artifact) throw new UserError(`artifact ${id} is not in the store ${store.root}; run the pipeline that makes it, or check the id.`);
  const files: Record<string, Shown> = {};
  for (const file of artifact.files) files[file] = await showFile(join(artifact.dir, file), opts);
  return { id, manifest: artifact.manifest, files };
}

export async function showFile(path: string, opts: ShowOptions): Promise<Shown> {
  switch (extname(path)) {
    case '.arrow': {
      const table = await readArrowFile(path);
      const rows = tableToRows(table);
      return { kind: 'arrow', schema: tableSchemaSummary(table), rows: opts.limit ? rows.slice(0, opts.limit) : rows };
    }
    case '.safetensors': {
      const { tensors, metadata } = await readSafetensorsFile(path);
      const out: Record<string, Shown> = {};
      for (const [name, t] of Object.entries(tensors)) {
        out[name] = { dtype: t.dtype, shape: t.shape, values: Array.from(t.data as ArrayLike<number | bigint>) };
      }
      return { kind: 'safetensors', metadata, tensors: out };
    }
    case '.json': {
      const text = await readFile(path, 'utf8');
      try {
        return { kind: 'json', value: JSON.parse(text) as unknown };
      } catch {
        throw new UserError(`${path}: not valid JSON; check the file.`);
      }
    }
    default:
      return { kind: 'file', size: (await stat(path)).size };
  }
}

/** A human-readable rendering of the same objects --json prints. */
function renderText(shown: Shown, indent = ''): string {
  if ('files' in shown && 'manifest' in shown) {
    const m = shown.manifest as { stage: string; output: string; instance?: string; kind: string; createdAt: string };
    const head = `${indent}artifact ${String(shown.id)}\n${indent}  ${m.kind} output "${m.output}" of ${m.instance ?? m.stage}, created ${m.createdAt}\n`;
    const files = Object.entries(shown.files as Record<string, Shown>).map(([name, f]) => `${indent}  ${name}:\n${renderText(f, `${indent}    `)}`);
    return head + files.join('');
  }
  if ('outputs' in shown && 'instance' in shown) {
    const outs = Object.entries(shown.outputs as Record<string, Shown>).map(([name, a]) => `${indent}output ${name}:\n${renderText(a, `${indent}  `)}`);
    return `${indent}${String(shown.instance)} (${String(shown.stage)}) key ${String(shown.key).slice(0, 12)}\n${indent}params ${JSON.stringify(shown.params)}\n${outs.join('')}`;
  }
  switch (shown.kind) {
    case 'arrow': {
      const schema = (shown.schema as { name: string; type: string }[]).map((c) => `${c.name}: ${c.type}`).join(', ');
      const rows = (shown.rows as Record<string, unknown>[]).slice(0, 10).map((r) => `${indent}  ${JSON.stringify(r, jsonSafe)}`);
      return `${indent}table (${(shown.rows as unknown[]).length} rows shown) ${schema}\n${rows.join('\n')}\n`;
    }
    case 'safetensors': {
      const tensors = Object.entries(shown.tensors as Record<string, { dtype: string; shape: number[] }>).map(
        ([name, t]) => `${indent}  ${name}  ${t.dtype}  [${t.shape.join(', ')}]`,
      );
      return `${indent}safetensors metadata ${JSON.stringify(shown.metadata)}\n${tensors.join('\n')}\n`;
    }
    case 'json':
      return `${indent}${JSON.stringify(shown.value, null, 2).split('\n').join(`\n${indent}`)}\n`;
    default:
      return `${indent}${String(shown.kind)} (${String(shown.size)} bytes)\n`;
  }
}
