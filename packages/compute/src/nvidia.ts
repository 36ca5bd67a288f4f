import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface GpuDevice {
  name: string;
  driver: string;
}

/** Name and driver of every GPU nvidia-smi lists; null where nvidia-smi is missing or fails. */
export async function nvidiaGpus(): Promise<GpuDevice[] | null> {
  try {
    const { stdout } = await promisify(execFile)('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { timeout: 5000 });
    return stdout
      .split('\n')
      .map((line) => line.split(',').map((s) => s.trim()))
      .filter(([name]) => name)
      .map(([name, driver]) => ({ name, driver: driver ?? '' }));
  } catch {
    return null;
  }
}

