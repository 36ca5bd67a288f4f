import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byId, makeWorkspace, removeWorkspaces } from './helpers.js';

afterAll(removeWorkspaces);

describe('lenna export / import / run --cached-only', () => {
  it('reproduces a sweep from an exported tar in an empty store without computing anything', async () => {
    const origin = await makeWorkspace();
    const first = await origin.lenna(['run', 'sweep.yaml', '--json', '--jobs', '2']);
    expect(first.exitCode, first.stderr).toBe(0);
    const collect = byId(first.stdout).collect;
    const gathered = await readFile(join(origin.store, 'objects', collect.outputs.summary, 'summary.json'));

    const tar = join(origin.dir, 'sweep.tar.gz');
    const exported = await origin.lenna(['export', 'sweep.yaml', tar]);
    expect(exported.exitCode, exported.stderr).toBe(0);

    // A second workspace: same pipeline files, an empty store, no lock file yet.
    const ci = await makeWorkspace();
    const before = await ci.lenna(['run', 'sweep.yaml', '--cached-only']);
    expect(before.exitCode).toBe(3);
    expect(before.stdout + before.stderr).toContain('collect');

    const imported = await ci.lenna(['import', tar, '--locks', '.', '--json']);
    expect(imported.exitCode, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).written).toEqual(['sweep.lock.json']);

    const reproduced = await ci.lenna(['run', 'sweep.yaml', '--cached-only', '--json']);
    expect(reproduced.exitCode, reproduced.stderr).toBe(0);
    const stages = byId(reproduced.stdout);
    expect(Object.values(stages).every((s) => s.state === 'cached')).toBe(true);
    expect(stages.collect.outputs.summary).toBe(collect.outputs.summary);
    expect(await readFile(join(ci.store, 'objects', collect.outputs.summary, 'summary.json'))).toEqual(gathered);
    expect((await ci.lenna(['verify'])).exitCode).toBe(0);
  });

  it('gives the very same report bytes from the imported cache as from the original run', async () => {
    const origin = await makeWorkspace();
    const first = await origin.lenna(['run', 'report.yaml', '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    const report = byId(first.stdout).report;
    const files = ['table.md', 'table.csv', 'table.arrow'];
    const original = await Promise.all(files.map((f) => readFile(join(origin.store, 'objects', report.outputs.table, f))));
    const html = await readFile(join(origin.store, 'objects', report.outputs.html, 'report.html'));
    expect(original[0].toString()).toContain('retrain@lambda=2');

    const tar = join(origin.dir, 'report.tar');
    expect((await origin.lenna(['export', 'report.yaml', tar])).exitCode).toBe(0);
    const ci = await makeWorkspace();
    expect((await ci.lenna(['import', tar, '--locks', '.'])).exitCode).toBe(0);
    const reproduced = await ci.lenna(['run', 'report.yaml', '--cached-only', '--json']);
    expect(reproduced.exitCode, reproduced.stderr).toBe(0);
    expect(byId(reproduced.stdout).report.state).toBe('cached');
    const again = await Promise.all(files.map((f) => readFile(join(ci.store, 'objects', report.outputs.table, f))));
    again.forEach((bytes, i) => expect(bytes.equals(original[i]), files[i]).toBe(true));
    expect((await readFile(join(ci.store, 'objects', report.outputs.html, 'report.html'))).equals(html)).toBe(true);
    const printed = await ci.lenna(['report', 'report.yaml']);
    expect(printed.exitCode, printed.stderr).toBe(0);
    expect(printed.stdout).toContain(original[0].toString().split('\n')[0]);
  });

  it('a stage keyed by a CIFAR-10 folder\'s content is a cache hit after import, with the data at another path', async () => {
    const cifarFiles = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
    const writeCifar = async (dir: string) => {
      await mkdir(dir, { recursive: true });
      for (const [i, name] of cifarFiles.entries()) await writeFile(join(dir, name), Buffer.alloc(100 + i, i));
    };
    const env = (ws: { dir: string }) => ({ env: { LENNA_DIGEST_CACHE: join(ws.dir, 'digests.json') } });
    const origin = await makeWorkspace();
    await writeCifar(join(origin.dir, 'cifar-10-batches-bin'));
    expect((await origin.lenna(['run', 'cifar.yaml'], env(origin))).exitCode).toBe(0);
    const tar = join(origin.dir, 'cifar.tar');
    expect((await origin.lenna(['export', 'cifar.yaml', tar])).exitCode).toBe(0);

    const elsewhere = await makeWorkspace();
    await writeCifar(join(elsewhere.dir, 'datasets', 'cifar'));
    expect((await elsewhere.lenna(['import', tar, '--locks', '.'])).exitCode).toBe(0);
    const hit = await elsewhere.lenna(['run', 'cifar.yaml', '--cached-only', '--set', 'params.cifar=./datasets/cifar', '--json'], env(elsewhere));
    expect(hit.exitCode, hit.stdout + hit.stderr).toBe(0);
    expect(byId(hit.stdout).stats.state).toBe('cached');
    // Other bytes in the folder: another key.
    await writeFile(join(elsewhere.dir, 'datasets', 'cifar', 'test_batch.bin'), Buffer.alloc(105, 9));
    expect((await elsewhere.lenna(['run', 'cifar.yaml', '--cached-only', '--set', 'params.cifar=./datasets/cifar'], env(elsewhere))).exitCode).toBe(3);
  });

  it('refuses to export a pipeline that never ran, naming the lock file', async () => {
    const ws = await makeWorkspace();
    const r = await ws.lenna(['export', 'sweep.yaml', join(ws.dir, 'x.tar')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/sweep\.lock\.json does not exist/);
  });
});
