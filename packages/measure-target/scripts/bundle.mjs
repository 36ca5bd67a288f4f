/**
 * Builds the browser page (dist/page): src/page/entry.ts bundled with tfjs, its backends, compute and
 * nn by esbuild; tfjs-backend-wasm's binaries copied beside it; index.html. Run by `npm run build`.
 *
 * Node's built-in modules are left external and must not be reached: the LENNA libraries declare
 * `sideEffects: false`, so what the page does not use (stores, files, child processes) is dropped,
 * and a `node:` import that survives fails the build, naming the module that brought it in.
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PAGE_SCRIPT = 'lenna-page.js';
export const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>LENNA measurement page</title></head>
<body><script type="module" src="./${PAGE_SCRIPT}"></script></body></html>
`;

/**
 * Bundles the page into `outDir`; returns esbuild's metafile. Throws when a Node built-in would reach
 * the page. `entry` (relative to the package) is for tests.
 */
export async function bundlePage(outDir, entry = 'src/page/entry.ts') {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: packageDir,
    entryPoints: [entry],
    outfile: join(outDir, PAGE_SCRIPT),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    external: ['node:*'],
    metafile: true,
    logLevel: 'silent',
  });
  const leaks = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external));
  if (leaks.length > 0) {
    const importers = Object.entries(result.metafile.inputs)
      .filter(([, input]) => input.imports.some((i) => leaks.some((l) => l.path === i.path)))
      .map(([path]) => path);
    throw new Error(`The page bundle still imports ${[...new Set(leaks.map((l) => l.path))].join(', ')} (from ${importers.join(', ')}); keep Node-only code out of what the page uses.`);
  }
  const wasmDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  for (const file of WASM_FILES) await copyFile(join(wasmDir, file), join(outDir, file));
  await writeFile(join(outDir, 'index.html'), INDEX_HTML);
  await writeFile(join(outDir, 'meta.json'), JSON.stringify(result.metafile));
  return result.metafile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = join(packageDir, 'dist', 'page');
  const meta = await bundlePage(outDir);
  const bytes = Object.values(meta.outputs).reduce((s, o) => s + o.bytes, 0);
  console.log(`page bundle: ${relative(process.cwd(), outDir)}/${PAGE_SCRIPT}, ${(bytes / 1e6).toFixed(1)} MB from ${Object.keys(meta.inputs).length} modules`);
}
