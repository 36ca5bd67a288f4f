import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundlePage, PAGE_SCRIPT, WASM_FILES } from '../scripts/bundle.mjs';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lenna-page-'));
  dirs.push(dir);
  return dir;
};

describe('the page bundle', () => {
  it('holds tfjs, LENNA kernels and the timer, with no Node built-in and nothing of core but its random numbers', async () => {
    const out = await tempDir();
    const meta = await bundlePage(out);
    const [output] = Object.values(meta.outputs).filter((o) => o.bytes > 0);
    const inputs = Object.keys(output.inputs);
    expect(output.imports).toEqual([]);
    for (const wanted of ['../compute/dist/kernels/register.js', '../compute/dist/timing.js', '../nn/dist/discrete-cell.js', '../nn/dist/eval-network.js', 'src/timer.ts', 'src/subjects.ts']) {
      expect(inputs).toContain(wanted);
    }
    expect(inputs.some((p) => p.includes('@tensorflow/tfjs-backend-wasm/'))).toBe(true);
    expect(inputs.some((p) => p.includes('@tensorflow/tfjs-backend-webgpu/'))).toBe(true);
    expect(inputs.some((p) => p.includes('puppeteer'))).toBe(false);
    expect(inputs.filter((p) => p.startsWith('../core/'))).toEqual(['../core/dist/random.js', '../core/dist/errors.js']);
    expect((await readdir(out)).sort()).toEqual(['index.html', 'meta.json', PAGE_SCRIPT, ...WASM_FILES].sort());
    expect(await readFile(join(out, 'index.html'), 'utf8')).toContain(`src="./${PAGE_SCRIPT}"`);
  });

  it('fails, naming the module, when what the page uses needs Node', async () => {
    await expect(bundlePage(await tempDir(), 'test/fixtures/leaky-entry.ts')).rejects.toThrow(/still imports node:.*\(from .*core\/dist\/store\.js/);
  });
});
