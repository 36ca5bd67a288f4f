import { open } from 'node:fs/promises';

/** The last `lines` lines of a log (read from its last 64 KiB); empty when it cannot be read. */
export async function tailOf(path: string, lines = 15): Promise<string[]> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').replace(/\s+$/, '');
    return text === '' ? [] : text.split(/\r?\n/).slice(-lines);
  } catch {
    return [];
  } finally {
    await handle?.close();
  }
}
