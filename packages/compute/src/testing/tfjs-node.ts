import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { RecordingBinding, type TfOpRequest } from './recording-binding.js';
import { systemRequirement } from '@lenna/core';

/** The tfjs-node release whose kernels the check loads; npm's integrity of its tarball pins the bytes. */
export const TFJS_NODE = {
  name: '@tensorflow/tfjs-node',
  version: '4.22.0',
  integrity: 'sha512-uHrXeUlfgkMxTZqHkESSV7zSdKdV0LlsBeblqkuKU9nnfxB1pC6DtoyYVaLxznzZy7WQSegjcohxxCjAf6Dc7w==',
} as const;

export type FetchedTfjsNode = { dir: string } | { unavailable: string };

export interface FetchOptions {
  /** Where to unpack (default `cacheRoot()`). */
  root?: string;
  /** npm's environment (default this process's). */
  env?: NodeJS.ProcessEnv;
}

const run = promisify(execFile);

/**
 * tfjs-node's npm tarball, unpacked once into node_modules/.cache (beside the @tensorflow/tfjs it
 * requires, so that its kernels load against the same tfjs). Only `npm pack`: its install step,
 * which downloads libtensorflow, never runs. `unavailable` says why npm could not fetch it.
 */
export async function fetchTfjsNode(opts: FetchOptions = {}): Promise<FetchedTfjsNode> {
  const root = opts.root ?? cacheRoot();
  const dir = join(root, 'package');
  if (existsSync(join(dir, 'package.json'))) return { dir };
  await mkdir(root, { recursive: true });
  const work = await mkdtemp(join(root, 'fetch-'));
  try {
    let stdout: string;
    try {
      const spec = `${TFJS_NODE.name}@${TFJS_NODE.version}`;
      ({ stdout } = await run('npm', ['pack', spec, '--json', '--pack-destination', work, '--fetch-retries=1', '--fetch-timeout=30000'], { timeout: 120_000, env: opts.env ?? process.env }));
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      return { unavailable: firstLine(e.stderr?.split('\n').find((l) => /ERR|error/i.test(l)) ?? e.message) };
    }
    const [packed] = JSON.parse(stdout) as { filename: string; integrity: string }[];
    if (packed.integrity !== TFJS_NODE.integrity) {
      throw new Error(`npm pack gave ${TFJS_NODE.name}@${TFJS_NODE.version} with integrity ${packed.integrity}, not the ${TFJS_NODE.integrity} it was published with; check the npm registry configured (npm config get registry).`);
    }
    await run('tar', ['-xzf', join(work, packed.filename), '-C', work]);
    // Another test process may have unpacked it meanwhile: then keep theirs.
    await rename(join(work, 'package'), dir).catch((err: NodeJS.ErrnoException) => {
      if (!existsSync(join(dir, 'package.json'))) throw err;
    });
    return { dir };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `<node_modules holding @tensorflow/tfjs>/.cache/lenna-tfjs-node-<version>`. */
export function cacheRoot(): string {
  const tfjsPackage = createRequire(import.meta.url).resolve('@tensorflow/tfjs/package.json');
  return join(dirname(dirname(dirname(tfjsPackage))), '.cache', `lenna-tfjs-node-${TFJS_NODE.version}`);
}

/**
 * The package directory, or undefined after ONE line on stderr saying why the check is skipped;
 * with LENNA_REQUIRE_TFJS_NODE=1 (CI) a missing package is an error instead.
 */
export async function tfjsNodeOrSkip(opts: FetchOptions = {}): Promise<string | undefined> {
  const fetched = await fetchTfjsNode(opts);
  const unavailable = 'dir' in fetched ? '' : ` (npm pack: ${fetched.unavailable})`;
  const requirement = systemRequirement('dir' in fetched ? fetched.dir : undefined, {
    thing: 'TFJS_NODE',
    what: `${TFJS_NODE.name}@${TFJS_NODE.version}${unavailable}`,
    tests: 'the TensorFlow op check',
    howTo: 'give this machine access to the npm registry',
    env: opts.env,
  });
  return requirement.skip ? undefined : requirement.get();
}

export interface RecordingTensorflow {
  /** The stand-in binding; `requests` holds every op tfjs-node asked libtensorflow for. */
  binding: RecordingBinding;
  /** One line per distinct op and attribute set requested since the last `clear`, with its count, sorted. */
  listing(): string[];
  clear(): void;
}

let registered: RecordingTensorflow | undefined;

/**
 * Registers tfjs-node's own backend class and kernels (from the unpacked tarball in `dir`) as the tfjs
 * backend `tensorflow`, over a RecordingBinding in place of the native addon. Once per process; the
 * caller switches to it with tf.setBackend('tensorflow').
 */
export function registerRecordingTensorflow(dir: string, opts: { gpu?: boolean } = {}): RecordingTensorflow {
  if (registered) return registered;
  const load = createRequire(join(dir, 'package.json'));
  // TensorBoard summaries' protocol buffers (they need google-protobuf, which is not fetched): never used by kernels.
  stubModule(load.resolve('./dist/proto/api_pb.js'));
  const { NodeJSKernelBackend } = load('./dist/nodejs_kernel_backend.js') as { NodeJSKernelBackend: new (binding: unknown, packageName: string) => tf.KernelBackend };
  load('./dist/register_all_kernels.js');
  const binding = new RecordingBinding(opts.gpu ?? false);
  const packageName = opts.gpu ? '@tensorflow/tfjs-node-gpu' : TFJS_NODE.name;
  tf.registerBackend('tensorflow', () => new NodeJSKernelBackend(binding, packageName), 0);
  let from = 0;
  registered = {
    binding,
    listing: () => listRequests(binding.requests.slice(from)),
    clear: () => {
      from = binding.requests.length;
    },
  };
  return registered;
}

function stubModule(path: string): void {
  const stub = new Module(path);
  stub.filename = path;
  stub.loaded = true;
  stub.exports = {};
  createRequire(path).cache[path] = stub;
}

export function listRequests(requests: TfOpRequest[]): string[] {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const attrs = Object.keys(r.attrs)
      .sort()
      .map((k) => `${k}=${JSON.stringify(r.attrs[k]).replace(/"/g, '')}`)
      .join(' ');
    const line = `${r.op} ${attrs}`.trim();
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([line, n]) => `${line}  ×${n}`);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0].slice(0, 300);
}

/**
 * Lines of a listing that ask a windowed op (convolution, pool, their gradients) for anything but
 * SAME/VALID padding and dilation 1: the forms LENNA sends TensorFlow's native backends. Empty is good.
 */
export function nonPortableRequests(listing: string[]): string[] {
  return listing.filter((l) => /padding=/.test(l) && (!/ padding=(SAME|VALID) /.test(l) || (/dilations=/.test(l) && !/dilations=\[1,1,1,1\]/.test(l))));
}

/** Writes a listing to `<cache>/ops-<name>.txt` (beside the tarball) and returns the path, for a reader of the test log. */
export async function writeListing(name: string, listing: string[]): Promise<string> {
  const file = join(cacheRoot(), `ops-${name}.txt`);
  await mkdir(cacheRoot(), { recursive: true });
  await writeFile(file, listing.join('\n') + '\n');
  return file;
}
