import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInputArtifact } from '@lenna/core';
import { genotypeKind } from '../src/genotype-input.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'retrain-kind-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A genotype artifact folder whose manifest names `stage`, or a bare folder when `stage` is undefined. */
async function artifact(name: string, stage: string | undefined): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await writeFile(join(dir, 'genotype.json'), '{}');
  if (stage !== undefined) {
    const manifest = { formatVersion: 1, id: name, kind: 'json', stage, output: 'genotype', cacheKey: 'k', params: {}, inputs: {}, files: { 'genotype.json': { sha256: '', size: 2 } }, createdAt: '' };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  }
  return dir;
}

describe('genotypeKind', () => {
  it("is random for random-cell's genotypes and search for darts-search's and for a bare folder", async () => {
    expect(genotypeKind(await openInputArtifact({ dir: await artifact('random', 'random-cell') }))).toBe('random');
    expect(genotypeKind(await openInputArtifact({ dir: await artifact('searched', 'darts-search') }))).toBe('search');
    expect(genotypeKind(await openInputArtifact({ dir: await artifact('by-hand', undefined) }))).toBe('search');
  });
});
