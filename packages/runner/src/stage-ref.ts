import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadStage, UserError, type StageDefinition } from '@lenna/core';
import { fileStageFingerprint, packageFingerprint } from './fingerprint.js';

/** A stage named in a pipeline, loaded in the parent for its schema, inputs, outputs and code fingerprint. */
export interface StageRef {
  /** What the pipeline wrote after `uses:`. */
  uses: string;
  /** What the stage host imports in the child: a package name or an absolute file path. */
  specifier: string;
  definition: StageDefinition;
  /** Fingerprint of the stage's built code and of the workspace packages it depends on. */
  fingerprint(): Promise<string>;
}

const cache = new Map<string, Promise<StageRef>>();

/** `darts-search` -> `@lenna/darts-search`; `./x.js` -> that file relative to `baseDir`. */
export function resolveStageRef(uses: string, baseDir: string, where: string): Promise<StageRef> {
  const isPath = uses.startsWith('.') || isAbsolute(uses);
  const key = isPath ? resolve(baseDir, uses) : packageName(uses);
  let ref = cache.get(key);
  if (!ref) {
    ref = isPath ? loadFileStage(uses, key, where) : loadPackageStage(uses, key, where);
    cache.set(key, ref);
    // A failed load is not cached: the next caller gets the same error, freshly.
    ref.catch(() => cache.delete(key));
  }
  return ref;
}

export function packageName(uses: string): string {
  return uses.startsWith('@') ? uses : `@lenna/${uses}`;
}

async function loadPackageStage(uses: string, name: string, where: string): Promise<StageRef> {
  let definition: StageDefinition;
  try {
    definition = await loadStage(name);
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`${where}: ${error.message}`);
    throw new UserError(`${where}: unknown stage "${uses}" (${firstLine(error)}); use a stage package name such as darts-search, or ./path/to/stage.js.`);
  }
  return { uses, specifier: name, definition, fingerprint: () => packageFingerprint(name) };
}

async function loadFileStage(uses: string, file: string, where: string): Promise<StageRef> {
  let mod: { stage?: StageDefinition };
  try {
    mod = (await import(pathToFileURL(file).href)) as { stage?: StageDefinition };
  } catch (error) {
    throw new UserError(`${where}: cannot load stage file ${uses} (${firstLine(error)}); give a .js file that exports \`stage\`.`);
  }
  if (!mod.stage || typeof mod.stage.run !== 'function') {
    throw new UserError(`${where}: ${uses} does not export a \`stage\` made with defineStage; export one.`);
  }
  return { uses, specifier: file, definition: mod.stage, fingerprint: () => fileStageFingerprint(file) };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
