import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, hashDirectory, hashFile, sha256Hex } from '@lenna/core';

/** Fingerprints are computed once per process: code does not change under a running runner. */
const memo = new Map<string, Promise<string>>();

function remember(key: string, compute: () => Promise<string>): Promise<string> {
  let value = memo.get(key);
  if (!value) {
    value = compute();
    memo.set(key, value);
  }
  return value;
}

/** Fingerprint of a workspace package's dist/ and of the dist/ of every @lenna/* package it depends on. */
export function packageFingerprint(name: string): Promise<string> {
  return remember(`pkg:${name}`, async () => {
    const parts: Record<string, string> = {};
    for (const dep of await workspaceClosure(name)) parts[dep] = await distFingerprint(dep);
    return sha256Hex(canonicalJson(parts));
  });
}

/** For a stage given as a file: the file and its folder's other .js files (its local helpers). */
export function fileStageFingerprint(file: string): Promise<string> {
  return remember(`file:${file}`, async () => {
    const dir = dirname(file);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.js')).sort();
    const parts: Record<string, string> = {};
    for (const n of names) parts[n] = await hashFile(join(dir, n));
    return sha256Hex(canonicalJson({ main: file.slice(dir.length + 1), files: parts }));
  });
}

/**
 * The package and its transitive @lenna/* dependencies, sorted: the code that can change its outputs.
 * Only `dependencies` count (devDependencies are tests' and benchmarks' code). Stages never depend on
 * stages (the import rule, eslint.config.js), so a stage's closure is itself and the libraries it uses.
 */
export async function workspaceClosure(
  root: string,
  dependenciesOf: (name: string) => Promise<Record<string, string>> = async (name) => (await readPackageJson(name)).dependencies ?? {},
): Promise<string[]> {
  const seen = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of Object.keys(await dependenciesOf(name))) if (dep.startsWith('@lenna/')) await visit(dep);
  };
  await visit(root);
  return [...seen].sort();
}

function distFingerprint(name: string): Promise<string> {
  return remember(`dist:${name}`, async () => hashDirectory(join(await packageDir(name), 'dist')));
}

async function readPackageJson(name: string): Promise<{ dependencies?: Record<string, string> }> {
  return JSON.parse(await readFile(join(await packageDir(name), 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
}

const dirs = new Map<string, Promise<string>>();

/** The package's folder, found from its resolved entry point (packages export only their dist). */
export function packageDir(name: string): Promise<string> {
  let dir = dirs.get(name);
  if (!dir) {
    dir = findPackageRoot(fileURLToPath(import.meta.resolve(name)), name);
    dirs.set(name, dir);
  }
  return dir;
}

async function findPackageRoot(start: string, name: string): Promise<string> {
  let dir = dirname(start);
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === name) return dir;
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package folder of ${name} above ${start}`);
    dir = parent;
  }
}
