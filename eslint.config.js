import { existsSync, readdirSync, readFileSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The import rule: stages use libraries, libraries never use stages, stages never use each other (the
// runner runs stages; they share code through libraries such as @lenna/latency-model). A package is a
// stage when its package.json says so (`"nx": { "tags": ["stage"] }`).
const root = new URL('./', import.meta.url);
const readJson = (path) => JSON.parse(readFileSync(new URL(path, root), 'utf8'));
/** Every workspace package (root package.json's `workspaces`, e.g. `packages/*`): its folder and package.json. */
const packages = readJson('package.json').workspaces
  .flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(new URL(`${parent}/`, root), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${parent}/${e.name}`);
  })
  .filter((path) => existsSync(new URL(`${path}/package.json`, root)))
  .map((path) => ({ path, dir: path.split('/').pop(), json: readJson(`${path}/package.json`) }));
const isStage = (p) => p.json.nx?.tags?.includes('stage') ?? false;
const stages = packages.filter(isStage);
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** In package `from`: no import of another stage, by name or by a relative path out of the package. */
function stageImportRule(from) {
  const patterns = stages
    .filter((stage) => stage.path !== from.path)
    .map((stage) => ({
      regex: `^(${escape(stage.json.name)}(/.*)?|(\\.\\./){2,}([\\w-]+/)?${escape(stage.dir)}/.*)$`,
      message: `${stage.json.name} is a pipeline stage, and ${isStage(from) ? 'a stage never imports another stage' : 'a library never imports a stage'}: move what both need into a library package (e.g. @lenna/latency-model).`,
    }));
  return { files: [`${from.path}/**/*.{ts,js,mjs}`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...packages.map(stageImportRule),
);
