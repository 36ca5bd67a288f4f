import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { serveFolders } from '../src/server.js';

const root = await mkdtemp(join(tmpdir(), 'lenna-serve-'));
afterAll(() => rm(root, { recursive: true, force: true }));

it('serves mounted folders on 127.0.0.1 only, by the longest prefix, and nothing outside them', async () => {
  await mkdir(join(root, 'page'));
  await mkdir(join(root, 'model'));
  await writeFile(join(root, 'page', 'index.html'), '<p>page</p>');
  await writeFile(join(root, 'page', 'k.wasm'), new Uint8Array([0, 97, 115, 109]));
  await writeFile(join(root, 'model', 'model.json'), '{"a":1}');
  await writeFile(join(root, 'secret.txt'), 'no');
  const server = await serveFolders({ '/': join(root, 'page'), '/model/': join(root, 'model') });
  try {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = (path: string) => fetch(new URL(path, server.url));
    expect(await (await get('/')).text()).toBe('<p>page</p>');
    const wasm = await get('/k.wasm');
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(new Uint8Array([0, 97, 115, 109]));
    expect(await (await get('/model/model.json')).json()).toEqual({ a: 1 });
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/model/..%2fsecret.txt', '/missing.js', '/%E0%A4%A']) expect((await get(path)).status, path).toBe(404);
  } finally {
    await server.close();
  }
});
