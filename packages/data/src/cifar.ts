import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from './errors.js';
import type { RawSet } from './raw.js';
import type { Normalisation } from './types.js';

export const CIFAR_SIDE = 32;
const PLANE = CIFAR_SIDE * CIFAR_SIDE;
/** One label byte, then the red, green and blue 32×32 planes, each row-major. */
export const CIFAR_RECORD_BYTES = 1 + 3 * PLANE;
export const CIFAR_RECORDS_PER_BATCH = 10_000;
export const CIFAR_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR_TEST_FILE = 'test_batch.bin';
export const CIFAR_FILES = [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE];
export const CIFAR_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** The per-channel statistics of the CIFAR-10 training set, as the DARTS code uses them. */
export const CIFAR_NORMALISATION: Normalisation = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

function expectation(records: number): string {
  return `the official CIFAR-10 binary layout of ${records} records × ${CIFAR_RECORD_BYTES} bytes = ${records * CIFAR_RECORD_BYTES} bytes`;
}

async function fileSize(file: string, records: number): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new UserError(`CIFAR-10 file ${file} is not a regular file; expected ${expectation(records)}.`);
    return info.size;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`CIFAR-10 file ${file} is missing or unreadable; expected ${expectation(records)}.`);
  }
}

function checkSize(file: string, size: number, records: number): void {
  const expected = records * CIFAR_RECORD_BYTES;
  if (size === expected) return;
  if (size % CIFAR_RECORD_BYTES !== 0) {
    throw new UserError(
      `CIFAR-10 file ${file} is misaligned: ${size} bytes is not a whole number of ${CIFAR_RECORD_BYTES}-byte records; expected ${expectation(records)}.`,
    );
  }
  const kind = size < expected ? 'short' : 'too long';
  throw new UserError(`CIFAR-10 file ${file} is ${kind}: ${size} bytes (${size / CIFAR_RECORD_BYTES} records); expected ${expectation(records)}.`);
}

/** Planar RGB records → NHWC bytes; a label above 9 means the records are out of step with the file. */
function decodeRecords(file: string, bytes: Uint8Array, records: number): RawSet {
  const pixels = new Uint8Array(records * 3 * PLANE);
  const labels = new Int32Array(records);
  for (let r = 0; r < records; r++) {
    const base = r * CIFAR_RECORD_BYTES;
    const label = bytes[base];
    if (label > 9) {
      throw new UserError(`CIFAR-10 file ${file} is misaligned or corrupt: record ${r} has label byte ${label}; labels are 0–9.`);
    }
    labels[r] = label;
    const out = r * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[base + 1 + p];
      pixels[out + 3 * p + 1] = bytes[base + 1 + PLANE + p];
      pixels[out + 3 * p + 2] = bytes[base + 1 + 2 * PLANE + p];
    }
  }
  return { pixels, labels, count: records, height: CIFAR_SIDE, width: CIFAR_SIDE, channels: 3, numClasses: 10, classNames: CIFAR_CLASS_NAMES };
}

/**
 * Reads one batch file of the official binary format. `records` is the count the file must hold
 * (10,000 in the real data set; tests pass fewer to work with small files).
 */
export async function readCifarBatch(file: string, opts: { records?: number } = {}): Promise<RawSet> {
  const records = opts.records ?? CIFAR_RECORDS_PER_BATCH;
  checkSize(file, await fileSize(file, records), records);
  const bytes = await readFile(file);
  return decodeRecords(file, bytes, records);
}

export function concatRaw(parts: RawSet[]): RawSet {
  const count = parts.reduce((sum, part) => sum + part.count, 0);
  const pixels = new Uint8Array(parts.reduce((sum, part) => sum + part.pixels.length, 0));
  const labels = new Int32Array(count);
  let pixelOffset = 0;
  let labelOffset = 0;
  for (const part of parts) {
    pixels.set(part.pixels, pixelOffset);
    labels.set(part.labels, labelOffset);
    pixelOffset += part.pixels.length;
    labelOffset += part.count;
  }
  return { ...parts[0], pixels, labels, count };
}

/** The five training batches (in file order) and the test batch of a CIFAR-10 binary folder. */
export async function loadCifarRaw(folder: string | undefined, opts: { records?: number } = {}): Promise<{ train: RawSet; test: RawSet }> {
  if (!folder) {
    throw new UserError('The cifar10 data set needs a path: the folder holding data_batch_1.bin … data_batch_5.bin and test_batch.bin.');
  }
  await checkFolder(folder);
  // One file at a time keeps peak memory to one batch's bytes on top of the decoded images.
  const train: RawSet[] = [];
  for (const name of CIFAR_TRAIN_FILES) train.push(await readCifarBatch(join(folder, name), opts));
  const test = await readCifarBatch(join(folder, CIFAR_TEST_FILE), opts);
  return { train: concatRaw(train), test };
}

async function checkFolder(folder: string): Promise<void> {
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError(`CIFAR-10 folder ${folder} does not exist or is not a folder; expected a folder holding ${CIFAR_FILES.join(', ')}.`);
  }
}
