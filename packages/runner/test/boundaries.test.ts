import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { workspaceClosure } from '../src/fingerprint.js';
import { repoRoot } from './helpers.js';

// The import rule (eslint.config.js) and the package.json side of it: stages use libraries, libraries
// never use stages, stages never use each other. It is what keeps a stage's code fingerprint honest:
// editing one stage must not re-key another.

type Deps = Record<string, string>;
interface Package {
  /** Its folder, from the repository root (`packages/predictor`). */
  path: string;
  name: string;
  isStage: boolean;
  json: { dependencies?: Deps; devDependencies?: Deps; peerDependencies?: Deps; optionalDependencies?: Deps };
}

let packages: Package[];
let stages: Package[];

async function sourceFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** The workspace packages' folders, from the root package.json's `workspaces` (`packages/*`, ...). */
async function workspaceFolders(): Promise<string[]> {
  const { workspaces } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] };
  const folders: string[] = [];
  for (const pattern of workspaces) {
    if (!pattern.endsWith('/*')) folders.push(pattern);
    else for (const e of await readdir(join(repoRoot, pattern.slice(0, -2)), { withFileTypes: true })) if (e.isDirectory()) folders.push(`${pattern.slice(0, -2)}/${e.name}`);
  }
  return folders.filter((path) => existsSync(join(repoRoot, path, 'package.json')));
}

beforeAll(async () => {
  packages = await Promise.all(
    (await workspaceFolders()).map(async (path) => {
      const json = JSON.parse(await readFile(join(repoRoot, path, 'package.json'), 'utf8'));
      return { path, name: json.name, isStage: json.nx?.tags?.includes('stage') ?? false, json };
    }),
  );
  stages = packages.filter((p) => p.isStage);
});

describe('stage packages', () => {
  it('are exactly the packages whose code defines a stage (tagged "stage" in package.json)', async () => {
    const defining: string[] = [];
    for (const p of packages.filter((p) => p.name !== '@lenna/core')) {
      const texts = await Promise.all((await sourceFiles(join(repoRoot, p.path, 'src'))).map((f) => readFile(f, 'utf8')));
      if (texts.some((t) => /\bdefineStage\(/.test(t))) defining.push(p.name);
    }
    expect(stages.map((s) => s.name).sort()).toEqual(defining.sort());
    expect(defining).toContain('@lenna/predictor');
  });

  it('export only `stage` (and types) from their entry', async () => {
    for (const stage of stages) {
      const index = await readFile(join(repoRoot, stage.path, 'src', 'index.ts'), 'utf8');
      const exported = [...index.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)]
        .filter(([, typeOnly]) => !typeOnly)
        .flatMap(([, , names]) => names.split(',').map((n) => n.trim()).filter((n) => n && !n.startsWith('type ')));
      expect(exported, stage.name).toEqual(['stage']);
      expect(index, stage.name).not.toMatch(/export\s+(\*|const|function|class|let)/);
    }
  });

  it('depend on no other stage, in dependencies or devDependencies; libraries depend on no stage', () => {
    const stageNames = new Set(stages.map((s) => s.name));
    for (const p of packages) {
      const { dependencies, devDependencies, peerDependencies, optionalDependencies } = p.json;
      const all = Object.keys({ ...dependencies, ...devDependencies, ...peerDependencies, ...optionalDependencies });
      expect(all.filter((d) => stageNames.has(d) && d !== p.name), p.name).toEqual([]);
    }
  });

  it('list in dependencies every @lenna package their code imports, so the code fingerprint covers it', async () => {
    for (const p of packages) {
      const deps = new Set(Object.keys(p.json.dependencies ?? {}));
      for (const file of await sourceFiles(join(repoRoot, p.path, 'src'))) {
        const text = await readFile(file, 'utf8');
        for (const [, name] of text.matchAll(/(?:from|import\()\s*'(@lenna\/[\w-]+)/g)) {
          if (name !== p.name) expect(deps.has(name), `${file} imports ${name}, which ${p.name}'s package.json does not list`).toBe(true);
        }
      }
    }
  });

  it('have a code fingerprint over their own package and libraries only, never another stage', async () => {
    const byName = new Map(packages.map((p) => [p.name, p]));
    const dependenciesOf = async (name: string) => byName.get(name)?.json.dependencies ?? {};
    for (const stage of stages) {
      const closure = await workspaceClosure(stage.name, dependenciesOf);
      expect(closure.filter((name) => byName.get(name)?.isStage), stage.name).toEqual([stage.name]);
    }
    // The user's case: predictor's code is not part of what darts-search's or retrain-eval's key covers.
    for (const reader of ['@lenna/darts-search', '@lenna/retrain-eval']) {
      const closure = await workspaceClosure(reader, dependenciesOf);
      expect(closure).toContain('@lenna/latency-model');
      expect(closure).not.toContain('@lenna/predictor');
    }
    // devDependencies are not code a stage runs.
    const withDev = { '@lenna/x': { dependencies: { '@lenna/y': '1' }, devDependencies: { '@lenna/z': '1' } } } as Record<string, { dependencies: Deps; devDependencies: Deps }>;
    expect(await workspaceClosure('@lenna/x', async (name) => withDev[name]?.dependencies ?? {})).toEqual(['@lenna/x', '@lenna/y']);
  });
});

describe('the import rule (eslint.config.js)', () => {
  let eslint: ESLint;
  beforeAll(() => {
    eslint = new ESLint({ cwd: repoRoot });
  });

  /** The no-restricted-imports messages ESLint gives `code` as if it were the file `file`. */
  async function violations(file: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: join(repoRoot, file) });
    expect(result.messages.filter((m) => m.fatal)).toEqual([]);
    return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  }

  it('fails a stage that imports another stage, by package name or by a relative path', async () => {
    expect(await violations('packages/darts-search/src/probe.ts', "import { stage } from '@lenna/predictor';\nexport { stage };\n")).toEqual([
      expect.stringMatching(/@lenna\/predictor is a pipeline stage, and a stage never imports another stage/),
    ]);
    expect(await violations('packages/retrain-eval/test/probe.test.ts', "import { takeRows } from '../../preprocess/src/table.js';\nexport { takeRows };\n")).toHaveLength(1);
    expect(await violations('packages/predictor/bench/probe.mjs', "import { stage } from '@lenna/preprocess';\nexport { stage };\n")).toHaveLength(1);
  });

  it('fails a library that imports a stage', async () => {
    expect(await violations('packages/nn/src/probe.ts', "import type { stage } from '@lenna/report';\nexport type { stage };\n")).toEqual([
      expect.stringMatching(/a library never imports a stage/),
    ]);
  });

  it('lets stages import libraries and their own files', async () => {
    const code = "import { loadLatencyModel } from '@lenna/latency-model';\nimport { createSearchNetwork } from '@lenna/nn';\nimport { stage } from '../src/stage.js';\nexport { loadLatencyModel, createSearchNetwork, stage };\n";
    expect(await violations('packages/darts-search/test/probe.test.ts', code)).toEqual([]);
  });
});
