import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { BACKEND_PACKAGES, initBackend, type BackendInfo } from './backend.js';
import { nvidiaGpus, type GpuDevice } from './nvidia.js';

const run = promisify(execFile);

/**
 * The shared libraries libtensorflow 2.9.1 (inside tfjs-node-gpu 4.x) opens to use a GPU: CUDA 11.2's
 * runtime and math libraries and cuDNN 8.1. Without any of them TensorFlow runs on the CPU.
 */
export const GPU_LIBRARIES = [
  { soname: 'libcudart.so.11.0', from: 'CUDA 11.2' },
  { soname: 'libcublas.so.11', from: 'CUDA 11.2' },
  { soname: 'libcublasLt.so.11', from: 'CUDA 11.2' },
  { soname: 'libcufft.so.10', from: 'CUDA 11.2' },
  { soname: 'libcurand.so.10', from: 'CUDA 11.2' },
  { soname: 'libcusolver.so.11', from: 'CUDA 11.2' },
  { soname: 'libcusparse.so.11', from: 'CUDA 11.2' },
  { soname: 'libcudnn.so.8', from: 'cuDNN 8.1' },
] as const;

export interface FoundLibrary {
  soname: string;
  from: string;
  /** Where the loader would find it, and the version its file name carries (libcudnn.so.8.1.1 → 8.1.1). */
  path?: string;
  version?: string;
}

export interface BackendDiagnosis {
  /** What initBackend picks here (LENNA_BACKEND respected), or why it could not start. */
  backend: BackendInfo | { error: string };
  /** Each backend package: its installed version, or null. */
  packages: Record<string, string | null>;
  /** NVIDIA GPUs nvidia-smi lists (null: no nvidia-smi). */
  gpus: GpuDevice[] | null;
  libraries: FoundLibrary[];
  /** What to do, one sentence each. */
  advice: string[];
}

/** What `lenna doctor` reports: the backend, its device, the CUDA/cuDNN libraries found, and what to install. */
export async function diagnoseBackend(): Promise<BackendDiagnosis> {
  const backend = await initBackend({ quiet: true }).catch((err: unknown) => ({ error: (err as Error).message }));
  const packages = Object.fromEntries(Object.values(BACKEND_PACKAGES).map((p) => [p, installedVersion(p)]));
  const gpus = await nvidiaGpus();
  const libraries = await findGpuLibraries();
  return { backend, packages, gpus, libraries, advice: adviseBackend({ backend, packages, gpus, libraries }) };
}

/** The advice for a diagnosis (pure, so every case is testable). */
export function adviseBackend(d: Omit<BackendDiagnosis, 'advice'>): string[] {
  const gpuPackage = BACKEND_PACKAGES['tensorflow-gpu'];
  const missing = d.libraries.filter((l) => !l.path);
  const onGpu = 'name' in d.backend && d.backend.name === 'tensorflow-gpu';
  if (onGpu) return ['Nothing is missing: TensorFlow runs on the GPU.'];
  const advice: string[] = [];
  if ('error' in d.backend) advice.push(`The backend did not start: ${d.backend.error}`);
  if (!d.gpus || d.gpus.length === 0) {
    advice.push(
      `No NVIDIA GPU is visible (${d.gpus ? 'nvidia-smi lists none' : 'nvidia-smi is not on PATH'}): the GPU backend needs an NVIDIA GPU and its driver; without one, ${'name' in d.backend ? d.backend.name : 'wasm'} is the backend LENNA uses.`,
    );
    return advice;
  }
  if (missing.length > 0) {
    advice.push(
      `Missing for ${gpuPackage} (libtensorflow 2.9.1, built for CUDA 11.2 and cuDNN 8.1): ${missing.map((l) => l.soname).join(', ')}; install CUDA 11.2 and cuDNN 8.1 (or use an nvidia/cuda:11.2.2-cudnn8-runtime image) and put their lib64 folders on LD_LIBRARY_PATH.`,
    );
  }
  if (!d.packages[gpuPackage]) {
    advice.push(
      `${gpuPackage} is not installed: run npm install in the LENNA checkout on a machine that reaches storage.googleapis.com (its install step downloads libtensorflow; npm drops the optional package where that fails).`,
    );
  } else if (missing.length === 0) {
    advice.push(
      `${gpuPackage} is installed and the libraries are found, yet TensorFlow uses no GPU: check that the driver supports CUDA 11.2 (nvidia-smi's "CUDA Version" at least 11.2) and read TensorFlow's own log with TF_CPP_MIN_LOG_LEVEL=0.`,
    );
  }
  return advice;
}

/** Where the dynamic loader finds each GPU library: LD_LIBRARY_PATH's folders first, then ldconfig's cache. */
export async function findGpuLibraries(env: NodeJS.ProcessEnv = process.env): Promise<FoundLibrary[]> {
  const cache = await ldconfigCache();
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return GPU_LIBRARIES.map(({ soname, from }) => {
    const found = dirs.map((d) => path.join(d, soname)).find((p) => existsSync(p)) ?? cache.get(soname);
    return found ? { soname, from, path: found, version: versionOf(soname, found) } : { soname, from };
  });
}

/** soname → path of this machine's architecture (the `libc6,x86-64` entries on x64), from `ldconfig -p`. */
export function parseLdconfig(text: string, arch: string = process.arch): Map<string, string> {
  const flag = ({ x64: 'x86-64', arm64: 'AArch64' } as Record<string, string>)[arch];
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)/.exec(line);
    if (m && !out.has(m[1]) && (!flag || m[2].split(',').includes(flag))) out.set(m[1], m[3]);
  }
  return out;
}

async function ldconfigCache(): Promise<Map<string, string>> {
  for (const bin of ['ldconfig', '/sbin/ldconfig']) {
    try {
      return parseLdconfig((await run(bin, ['-p'], { timeout: 5000, maxBuffer: 16 * 1024 * 1024 })).stdout);
    } catch {
      // try the next
    }
  }
  return new Map();
}

/** The version a library file's real name carries beyond its soname (libcudart.so.11.0 → libcudart.so.11.2.152 → 11.2.152). */
function versionOf(soname: string, file: string): string | undefined {
  let real = file;
  try {
    real = realpathSync(file);
  } catch {
    // a dangling link: keep its own name
  }
  const base = path.basename(real);
  const stem = soname.slice(0, soname.indexOf('.so') + 3);
  return base.startsWith(stem + '.') ? base.slice(stem.length + 1) : undefined;
}

function installedVersion(pkg: string): string | null {
  try {
    const file = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/** The diagnosis as `lenna doctor` prints it. */
export function formatDiagnosis(d: BackendDiagnosis): string {
  const b = d.backend;
  const backend = 'error' in b ? `none (${b.error})` : `${b.name} (tfjs ${b.tfjsVersion}${b.package ? `, ${b.package}` : ''}${b.threads ? `, ${b.threads} thread` : ''})`;
  const device = 'error' in b ? '-' : b.device === 'GPU' ? `GPU: ${(d.gpus ?? []).map((g) => g.name).join(', ') || 'yes'}` : b.device === 'CPU' ? 'CPU (TensorFlow found no GPU)' : 'CPU';
  const gpus = d.gpus === null ? 'nvidia-smi not found' : d.gpus.length === 0 ? 'none' : d.gpus.map((g) => `${g.name} (driver ${g.driver})`).join(', ');
  const libs = d.libraries.map((l) => `  ${l.soname.padEnd(18)} ${l.path ? `${l.path}${l.version ? ` (${l.version})` : ''}` : `missing (${l.from})`}`);
  const rows = [
    `backend   ${backend}`,
    `device    ${device}`,
    `gpus      ${gpus}`,
    `packages  ${Object.entries(d.packages).map(([p, v]) => `${p} ${v ?? 'not installed'}`).join('; ')}`,
    'CUDA 11.2 / cuDNN 8.1 (what tfjs-node-gpu 4.x needs):',
    ...libs,
    ...d.advice.map((a) => `- ${a}`),
  ];
  return rows.join('\n') + '\n';
}
