import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError, errorMessage } from './errors.js';
import { joinAll } from './fsutil.js';
import { listFilesRecursive } from './hash.js';
import type { FileEntry, InputArtifact, Manifest, StageDefinition } from './stage.js';
import { MANIFEST_FILE } from './store.js';

export interface InputLocation {
  /** The artifact id; for a plain folder leave it out (the folder's manifest id, else `folder:<path>`, is used). */
  id?: string;
  dir: string;
  /** The pipeline instance that produced it, when a runner knows (see InputArtifact.instance). */
  instance?: string;
}

/** An artifact folder as a stage sees it; a folder without manifest.json (a `lenna stage --in` path) gets a synthetic one. */
export async function openInputArtifact(location: InputLocation): Promise<InputArtifact> {
  const dir = resolve(location.dir);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UserError(`input artifact ${location.id ?? dir} should be a folder at ${dir}, but there is none`);
  const stored = await readManifestIfAny(dir);
  const id = location.id ?? stored?.id ?? `folder:${dir}`;
  const manifest = stored ?? (await syntheticManifest(dir, id));
  const files = Object.keys(manifest.files).sort();
  return {
    id,
    dir,
    files,
    manifest,
    instance: location.instance ?? (manifest.instance || undefined),
    path(file: string): string {
      if (!files.includes(file)) {
        throw new UserError(`input artifact ${id} (${dir}) has no file "${file}"; its files are: ${files.join(', ') || 'none'}`);
      }
      return joinAll(dir, file);
    },
  };
}

async function readManifestIfAny(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(joinAll(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Manifest;
  } catch (error) {
    throw new UserError(`${joinAll(dir, MANIFEST_FILE)} is not valid JSON (${errorMessage(error)})`);
  }
}

async function syntheticManifest(dir: string, id: string): Promise<Manifest> {
  const files: Record<string, FileEntry> = {};
  for (const name of await listFilesRecursive(dir)) files[name] = { sha256: '', size: (await stat(joinAll(dir, name))).size };
  return { formatVersion: 1, id, kind: 'files', stage: '', output: '', cacheKey: '', params: {}, inputs: {}, files, createdAt: '' };
}

/** Match the given input folders to the stage's declared inputs: gather inputs become lists, unknown or missing ones are errors. */
export async function resolveStageInputs(
  stage: StageDefinition,
  given: Record<string, InputLocation | InputLocation[]>,
): Promise<{ inputs: Record<string, InputArtifact>; gathered: Record<string, InputArtifact[]> }> {
  for (const name of Object.keys(given)) {
    if (!(name in stage.inputs)) {
      throw new UserError(`stage "${stage.name}" has no input "${name}"; its inputs are: ${Object.keys(stage.inputs).join(', ') || 'none'}`);
    }
  }
  const inputs: Record<string, InputArtifact> = {};
  const gathered: Record<string, InputArtifact[]> = {};
  for (const [name, spec] of Object.entries(stage.inputs)) {
    const value = given[name];
    if (value === undefined) {
      if (spec.many) gathered[name] = [];
      if (!spec.optional) throw new UserError(`stage "${stage.name}" needs input "${name}" (${spec.kind}: ${spec.description}), but none was given`);
      continue;
    }
    if (spec.many) gathered[name] = await Promise.all((Array.isArray(value) ? value : [value]).map(openInputArtifact));
    else if (Array.isArray(value)) {
      if (value.length !== 1) throw new UserError(`stage "${stage.name}" input "${name}" takes one artifact, but ${value.length} were given`);
      inputs[name] = await openInputArtifact(value[0]);
    } else inputs[name] = await openInputArtifact(value);
  }
  return { inputs, gathered };
}
