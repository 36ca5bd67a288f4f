import type { ProgressEvent } from './stage.js';

/**
 * Passes progress events on at most once per `intervalMs`, always keeping the latest: a stage may
 * report every step, and a flood of IPC messages would slow both the stage and the runner's display.
 */
export class ProgressThrottle {
  private lastSent = 0;
  private pending: ProgressEvent | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (event: ProgressEvent) => void,
    private readonly intervalMs = 100,
  ) {}

  push(event: ProgressEvent): void {
    const now = Date.now();
    const finished = event.total !== undefined && event.done >= event.total;
    if (finished || now - this.lastSent >= this.intervalMs) {
      this.emit(event, now);
      return;
    }
    this.pending = event;
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs - (now - this.lastSent));
    this.timer.unref?.();
  }

  /** Send the event held back, if any (before the stage reports that it is done). */
  flush(): void {
    if (this.pending) this.emit(this.pending, Date.now());
  }

  private emit(event: ProgressEvent, now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.lastSent = now;
    this.send(event);
  }
}
