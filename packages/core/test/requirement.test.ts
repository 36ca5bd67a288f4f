import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, systemRequirement } from '../src/index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lenna-browser-'));
  for (const dir of ['a', 'b', 'c']) await mkdir(join(root, dir));
  const executable = async (path: string, mode = 0o755): Promise<void> => {
    await writeFile(path, '#!/bin/sh\n');
    await chmod(path, mode);
  };
  await executable(join(root, 'a', 'chromium'), 0o644); // not executable: not a browser
  await executable(join(root, 'b', 'google-chrome'));
  await executable(join(root, 'c', 'chromium-browser'));
  await executable(join(root, 'c', 'chromium'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('findChromium', () => {
  it('takes the first name on PATH in name order, skipping files that are not executable', () => {
    const PATH = [join(root, 'a'), join(root, 'b'), join(root, 'c')].join(delimiter);
    expect(findChromium({ PATH })).toBe(join(root, 'c', 'chromium'));
    expect(findChromium({ PATH: [join(root, 'a'), join(root, 'b')].join(delimiter) })).toBe(join(root, 'b', 'google-chrome'));
    expect(findChromium({ PATH: join(root, 'a') })).toBeUndefined();
    expect(findChromium({})).toBeUndefined();
  });

  it('prefers CHROMIUM_PATH, then PUPPETEER_EXECUTABLE_PATH, to PATH', () => {
    const PATH = join(root, 'c');
    const chrome = join(root, 'b', 'google-chrome');
    expect(findChromium({ PATH, PUPPETEER_EXECUTABLE_PATH: chrome })).toBe(chrome);
    expect(findChromium({ PATH, CHROMIUM_PATH: join(root, 'c', 'chromium-browser'), PUPPETEER_EXECUTABLE_PATH: chrome })).toBe(join(root, 'c', 'chromium-browser'));
  });

  it('rejects a variable that names no executable file, naming it', () => {
    expect(() => findChromium({ CHROMIUM_PATH: join(root, 'a', 'chromium') })).toThrow(/CHROMIUM_PATH=.*a\/chromium is not an executable file/);
    expect(() => findChromium({ PUPPETEER_EXECUTABLE_PATH: join(root, 'nope') })).toThrow(/PUPPETEER_EXECUTABLE_PATH=/);
  });
});

describe('systemRequirement', () => {
  const opts = (env: Record<string, string>, lines: string[]) => ({ thing: 'BROWSER', what: 'Chromium', tests: 'the x test', howTo: 'install it', env, write: (l: string) => lines.push(l) });

  it('skips with one line saying how to enable it where the thing is missing', () => {
    const lines: string[] = [];
    const req = systemRequirement<string>(undefined, opts({}, lines));
    expect(req.skip).toBe(true);
    expect(lines).toEqual(['skipped the x test: Chromium not found; to run it, install it (LENNA_REQUIRE_BROWSER=1 makes this a failure).\n']);
  });

  it('fails instead of skipping under LENNA_REQUIRE_<THING>=1', () => {
    const lines: string[] = [];
    const req = systemRequirement<string>(undefined, opts({ LENNA_REQUIRE_BROWSER: '1' }, lines));
    expect(req.skip).toBe(false);
    expect(lines).toEqual([]);
    expect(() => req.get()).toThrow('LENNA_REQUIRE_BROWSER=1 but Chromium is not found: install it.');
  });

  it('runs with what was found, silently', () => {
    const lines: string[] = [];
    const req = systemRequirement('/usr/bin/chromium', opts({}, lines));
    expect([req.skip, req.get(), lines.length]).toEqual([false, '/usr/bin/chromium', 0]);
  });
});
