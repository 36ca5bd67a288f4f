import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { MeasuredRow } from './columns.js';
import type { LutEntry } from './lut.js';
import type { ReferenceCell } from './protocol.js';

export const ROWS_LOG = 'rows.jsonl';
export const CALIBRATION_FILE = 'calibration.json';

/** What a run measures before its rows: the op table and each shape's reference cell (by shapeKey). */
export interface Calibration {
  lut: LutEntry[];
  references: Record<string, ReferenceCell>;
}

/** Identifies the plan a scratch folder belongs to, so rows of another plan are never mixed in. */
export function planFingerprint(params: unknown): string {
  return createHash('sha256').update(JSON.stringify(params)).digest('hex');
}

interface LogHeader {
  fingerprint: string;
}

/**
 * Measured rows as JSON lines in the scratch folder, one fsync per row: an interrupted run keeps every
 * row it finished. The first line names the plan; a torn last line (a crash mid-write) is dropped.
 */
export class RowLog {
  private constructor(
    private handle: FileHandle,
    readonly rows: Map<number, MeasuredRow>,
  ) {}

  static async open(dir: string, fingerprint: string): Promise<RowLog> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, ROWS_LOG);
    const previous = await readLog(path, fingerprint);
    if (!previous) await rm(path, { force: true });
    const handle = await open(path, 'a');
    const log = new RowLog(handle, previous ?? new Map());
    if (!previous) await log.appendLine({ fingerprint } satisfies LogHeader);
    else await log.repairTornTail(path);
    return log;
  }

  async append(row: MeasuredRow): Promise<void> {
    await this.appendLine(row);
    this.rows.set(row.index, row);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async appendLine(value: unknown): Promise<void> {
    await this.handle.write(JSON.stringify(value) + '\n');
    await this.handle.sync();
  }

  /** A torn last line has no newline: end it, so the next row starts on a line of its own. */
  private async repairTornTail(path: string): Promise<void> {
    const text = await readFile(path, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) await this.handle.write('\n');
  }
}

async function readLog(path: string, fingerprint: string): Promise<Map<number, MeasuredRow> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = parseLine<LogHeader>(lines[0]);
  if (header?.fingerprint !== fingerprint) return undefined;
  const rows = new Map<number, MeasuredRow>();
  for (const line of lines.slice(1)) {
    const row = parseLine<MeasuredRow>(line);
    if (row && Number.isInteger(row.index)) rows.set(row.index, row);
  }
  return rows;
}

function parseLine<T>(line: string | undefined): T | undefined {
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}

/** The calibration, saved once so a resumed run reuses it (its rows' estimates and references stay the same). */
export async function saveCalibration(dir: string, fingerprint: string, calibration: Calibration): Promise<void> {
  const path = join(dir, CALIBRATION_FILE);
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(JSON.stringify({ fingerprint, calibration }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

export async function loadCalibration(dir: string, fingerprint: string): Promise<Calibration | undefined> {
  try {
    const saved = JSON.parse(await readFile(join(dir, CALIBRATION_FILE), 'utf8')) as { fingerprint: string; calibration: Calibration };
    return saved.fingerprint === fingerprint ? saved.calibration : undefined;
  } catch {
    return undefined;
  }
}
