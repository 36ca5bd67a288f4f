import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { UserError } from './errors.js';
import { registerLennaKernels } from './kernels/register.js';
import { nvidiaGpus } from './nvidia.js';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export interface BackendInfo {
  name: BackendName;
  tfjsVersion: string;
  threads?: number;
  /** Native backends: where TensorFlow runs, as libtensorflow reports it, and the npm package that provides it. */
  device?: 'GPU' | 'CPU';
  package?: string;
}

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** The npm package that provides each backend, for error messages and the README. */
export const BACKEND_PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

/** tfjs registers the two native packages under the same backend name. */
const TFJS_BACKEND_NAME: Record<BackendName, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

let initialised: Promise<BackendInfo> | undefined;

/**
 * Once per process: picks the best installed backend (or LENNA_BACKEND / opts.backend), registers
 * LENNA's kernels, sets it active and reports it on stderr unless quiet. Later calls return the
 * first call's answer; asking later for a different backend is an error, since tensors already
 * made live on the first one.
 */
export async function initBackend(opts: { backend?: BackendName; quiet?: boolean } = {}): Promise<BackendInfo> {
  const wanted = opts.backend ?? parseBackendEnv(process.env.LENNA_BACKEND);
  if (!initialised) {
    // A failed start may be retried with another backend.
    initialised = initOnce(wanted, opts.quiet ?? false).catch((err: unknown) => {
      initialised = undefined;
      throw err;
    });
  }
  const info = await initialised;
  if (wanted && wanted !== info.name) {
    throw new UserError(
      `The tfjs backend was already initialised as '${info.name}' in this process; it cannot switch to '${wanted}' (set LENNA_BACKEND before anything starts).`,
    );
  }
  return info;
}

function parseBackendEnv(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new UserError(
    `LENNA_BACKEND='${value}' is not a backend; use one of ${BACKEND_NAMES.join(', ')} (or leave it unset for the best installed one).`,
  );
}

async function initOnce(wanted: BackendName | undefined, quiet: boolean): Promise<BackendInfo> {
  const loaded = wanted ?? (await bestInstalled());
  if (wanted) await loadBackend(wanted, true);
  registerLennaKernels();
  const ok = await tf.setBackend(TFJS_BACKEND_NAME[loaded]);
  if (!ok) throw new Error(`tfjs could not start the '${loaded}' backend.`);
  await tf.ready();
  const info: BackendInfo = { name: loaded, tfjsVersion: tf.version.tfjs };
  let note = '';
  if (loaded === 'tensorflow-gpu' || loaded === 'tensorflow') {
    const usingGpu = nativeUsesGpu(tf.backend());
    info.name = nativeBackendName(loaded, usingGpu, wanted !== undefined);
    info.device = usingGpu ? 'GPU' : 'CPU';
    info.package = BACKEND_PACKAGES[loaded];
    if (info.name !== loaded) note = `; ${info.package} found no GPU, so TensorFlow runs on the CPU: 'lenna doctor' says what is missing`;
  }
  if (loaded === 'wasm') info.threads = await wasmThreads();
  if (!quiet) process.stderr.write(`backend: ${info.name} (tfjs ${info.tfjsVersion}${note})\n`);
  return info;
}

/** What libtensorflow told tfjs-node when it started: whether it found a GPU device (tfjs-node's isUsingGpuDevice). */
export function nativeUsesGpu(backend: unknown): boolean {
  return (backend as { isUsingGpuDevice?: unknown }).isUsingGpuDevice === true;
}

/**
 * The backend a loaded native package really is. tfjs-node-gpu loads without CUDA too and then runs
 * on the CPU without a word (libtensorflow falls back when it finds no GPU device): that is the
 * `tensorflow` backend, and one who asked for tensorflow-gpu by name gets an error instead.
 */
export function nativeBackendName(loaded: 'tensorflow-gpu' | 'tensorflow', usingGpu: boolean, askedByName: boolean): BackendName {
  if (loaded === 'tensorflow' || usingGpu) return loaded;
  if (askedByName) {
    throw new UserError(
      `The 'tensorflow-gpu' backend was asked for (LENNA_BACKEND or the backend option) and ${BACKEND_PACKAGES['tensorflow-gpu']} loaded, but TensorFlow found no GPU device (it needs an NVIDIA driver, CUDA 11.2 and cuDNN 8.1 on the library path); run 'lenna doctor' to see what is missing, or use LENNA_BACKEND=tensorflow to run on the CPU.`,
    );
  }
  return 'tensorflow';
}

async function bestInstalled(): Promise<BackendName> {
  for (const name of BACKEND_NAMES) {
    if (await loadBackend(name, false)) return name;
  }
  return 'cpu';
}

/** Imports the backend's package (which registers it with tfjs); false, or a UserError when required, if absent. */
async function loadBackend(name: BackendName, required: boolean): Promise<boolean> {
  try {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') await import(BACKEND_PACKAGES[name]);
    else if (name === 'wasm') await loadWasm();
    return true;
  } catch (err) {
    if (!required) return false;
    throw new UserError(
      `The '${name}' backend was asked for (LENNA_BACKEND or the backend option) but ${BACKEND_PACKAGES[name]} could not be loaded (${(err as Error).message.split('\n')[0]}); install it with 'npm install ${BACKEND_PACKAGES[name]}' or choose another backend.`,
    );
  }
}

async function loadWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  // The threaded binary cannot start its workers in Node (they load from blob URLs): one thread.
  wasm.setThreadsCount(1);
  wasm.setWasmPaths(dir + path.sep);
}

async function wasmThreads(): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return wasm.getThreadsCount();
}

/**
 * What the latency of a `measures` stage depends on; it goes into that stage's cache key. The GPU's
 * name only where the backend runs on it (a GPU in the machine does not change a wasm timing).
 */
export async function environmentFingerprint(): Promise<Record<string, unknown>> {
  const info = await initBackend({ quiet: true });
  const { cpuModel, cpuCores, platform } = hostFingerprint();
  return {
    backend: info.name,
    tfjsVersion: info.tfjsVersion,
    threads: info.threads ?? null,
    cpuModel,
    cpuCores,
    platform,
    gpu: info.name === 'tensorflow-gpu' ? ((await nvidiaGpus())?.map((g) => g.name).join(', ') ?? null) : null,
  };
}

/** The machine's part of a latency fingerprint: what runs the code, whichever runtime does. */
export function hostFingerprint(): { cpuModel: string | null; cpuCores: number; platform: string } {
  const cpus = os.cpus();
  return { cpuModel: cpus[0]?.model.trim() ?? null, cpuCores: cpus.length, platform: `${process.platform}-${process.arch}` };
}
