import { afterAll, expect, it } from 'vitest';
import { makeWorkspace, removeWorkspaces } from './helpers.js';

afterAll(removeWorkspaces);

it('lenna doctor prints the backend, its device, the CUDA/cuDNN libraries and what to do (text and --json)', async () => {
  const ws = await makeWorkspace();
  const json = await ws.lenna(['doctor', '--json'], { env: { LENNA_BACKEND: 'cpu' } });
  expect(json.exitCode, json.stderr).toBe(0);
  const d = JSON.parse(json.stdout) as { backend: { name: string }; packages: Record<string, string | null>; libraries: { soname: string }[]; advice: string[] };
  expect(d.backend.name).toBe('cpu');
  expect(d.packages['@tensorflow/tfjs']).toMatch(/^4\./);
  expect(d.libraries.map((l) => l.soname)).toContain('libcudnn.so.8');
  expect(d.advice.length).toBeGreaterThan(0);
  const text = await ws.lenna(['doctor'], { env: { LENNA_BACKEND: 'cpu' } });
  expect(text.exitCode, text.stderr).toBe(0);
  expect(text.stdout).toMatch(/^backend {3}cpu \(tfjs 4\.\d+\.\d+\)\ndevice {4}CPU\n/);
  expect(text.stdout).toMatch(/libcudart\.so\.11\.0 /);
  // A backend that cannot start is part of the diagnosis, not a crash.
  const bad = await ws.lenna(['doctor'], { env: { LENNA_BACKEND: 'gpu' } });
  expect(bad.exitCode, bad.stderr).toBe(0);
  expect(bad.stdout).toMatch(/^backend {3}none \(LENNA_BACKEND='gpu' is not a backend/);
});
