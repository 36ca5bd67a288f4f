import type { ProgressEvent } from '@lenna/core';

/** What the runner tells the person (or CI log) watching it. */
export interface Reporter {
  waiting(id: string): void;
  /** Waiting in a cluster's queue: `note` says which job and why it waits. */
  queued(id: string, note: string): void;
  cached(id: string): void;
  started(id: string): void;
  progress(id: string, event: ProgressEvent): void;
  log(id: string, message: string): void;
  finished(id: string, seconds: number): void;
  failed(id: string, message: string, logPath?: string): void;
  skipped(id: string, reason: string): void;
  close(): void;
}

type Line = { state: 'waiting' | 'cached' | 'running' | 'done' | 'failed' | 'skipped'; started?: number; event?: ProgressEvent; note?: string };

const clock = (): string => new Date().toISOString().slice(11, 19);

/** Plain timestamped lines (CI, pipes, --json): start/finish always, progress at most every few seconds. */
export class PlainReporter implements Reporter {
  private readonly lastProgress = new Map<string, number>();
  private readonly queuedOnce = new Set<string>();
  constructor(
    private readonly write: (text: string) => void,
    private readonly intervalMs = 3000,
  ) {}
  private line(text: string): void {
    this.write(`[${clock()}] ${text}\n`);
  }
  waiting(): void {}
  /** Once per instance: why a job waits changes often (Dependency, Resources, Priority) and the live view shows it. */
  queued(id: string, note: string): void {
    if (this.queuedOnce.has(id)) return;
    this.queuedOnce.add(id);
    this.line(`${id}: queued (${note})`);
  }
  cached(id: string): void {
    this.line(`${id}: cached`);
  }
  started(id: string): void {
    this.line(`${id}: started`);
  }
  progress(id: string, event: ProgressEvent): void {
    const now = Date.now();
    if (now - (this.lastProgress.get(id) ?? 0) < this.intervalMs) return;
    this.lastProgress.set(id, now);
    this.line(`${id}: ${describe(event)}`);
  }
  log(id: string, message: string): void {
    this.line(`${id}: ${message}`);
  }
  finished(id: string, seconds: number): void {
    this.line(`${id}: done in ${formatSeconds(seconds)}`);
  }
  failed(id: string, message: string, logPath?: string): void {
    this.line(`${id}: FAILED (${message})${logPath ? `; log: ${logPath}` : ''}`);
  }
  skipped(id: string, reason: string): void {
    this.line(`${id}: not run (${reason})`);
  }
  close(): void {}
}

/** A live block, one line per stage instance, redrawn in place on a terminal. */
export class LiveReporter implements Reporter {
  private readonly lines = new Map<string, Line>();
  private drawn = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  constructor(private readonly stream: NodeJS.WriteStream) {
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
  }
  private set(id: string, line: Line): void {
    this.lines.set(id, line);
  }
  waiting(id: string): void {
    this.set(id, { state: 'waiting' });
  }
  queued(id: string, note: string): void {
    this.set(id, { state: 'waiting', note });
  }
  cached(id: string): void {
    this.set(id, { state: 'cached' });
  }
  started(id: string): void {
    this.set(id, { state: 'running', started: Date.now() });
  }
  progress(id: string, event: ProgressEvent): void {
    const line = this.lines.get(id);
    if (line) line.event = event;
  }
  log(): void {}
  finished(id: string, seconds: number): void {
    this.set(id, { state: 'done', note: formatSeconds(seconds) });
  }
  failed(id: string, message: string, logPath?: string): void {
    this.set(id, { state: 'failed', note: `${message}${logPath ? `; log: ${logPath}` : ''}` });
  }
  skipped(id: string, reason: string): void {
    this.set(id, { state: 'skipped', note: reason });
  }
  close(): void {
    clearInterval(this.timer);
    this.draw();
  }
  private draw(): void {
    const width = Math.max(10, ...[...this.lines.keys()].map((k) => k.length));
    const text = [...this.lines].map(([id, line]) => `${id.padEnd(width)}  ${render(line)}`);
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.stream.write(up + text.map((t) => `\x1b[2K${t.slice(0, (this.stream.columns || 120) - 1)}\n`).join(''));
    this.drawn = text.length;
  }
}

function render(line: Line): string {
  switch (line.state) {
    case 'running': {
      const elapsed = formatSeconds((Date.now() - (line.started ?? Date.now())) / 1000);
      return `running ${bar(line.event)} ${line.event ? describe(line.event) : ''} ${elapsed}`;
    }
    case 'done':
      return `done ${line.note}`;
    case 'failed':
      return `FAILED ${line.note}`;
    case 'skipped':
      return `not run (${line.note})`;
    case 'waiting':
      return line.note ? `waiting (${line.note})` : 'waiting';
    default:
      return line.state;
  }
}

function bar(event: ProgressEvent | undefined, width = 20): string {
  if (!event?.total) return `[${' '.repeat(width)}]`;
  const filled = Math.max(0, Math.min(width, Math.round((event.done / event.total) * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function describe(event: ProgressEvent): string {
  return event.label ?? (event.total ? `${event.done}/${event.total}` : `${event.done}`);
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.round(seconds - m * 60)).padStart(2, '0')}s`;
}
