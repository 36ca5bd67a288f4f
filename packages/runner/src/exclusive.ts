/**
 * The machine-wide "exclusive" grant: one holder at a time, waiters served first come first
 * served. Stages ask for it around their timing code; see StageContext.exclusive. While a stage
 * holds it, every other running stage's process is paused (SIGSTOP, then SIGCONT at release): a
 * training stage on the other core of a 2-core machine inflated retrain-eval's latencies by 10–25%.
 */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export class ExclusiveLock {
  private holder: string | undefined;
  private depth = 0;
  private readonly queue: { owner: string; grant: () => void }[] = [];
  private readonly running = new Map<string, Pausable>();
  private readonly paused = new Set<string>();
  private stopped = false;

  acquire(owner: string): Promise<void> {
    // Re-entrant for one owner: a stage may nest exclusive() calls.
    if (this.holder === undefined || this.holder === owner) {
      this.depth++;
      this.hold(owner);
      return Promise.resolve();
    }
    return new Promise((grant) => this.queue.push({ owner, grant }));
  }

  release(owner: string): void {
    if (this.holder !== owner) return;
    if (--this.depth > 0) return;
    this.holder = undefined;
    const next = this.queue.shift();
    if (next) {
      this.depth = 1;
      this.hold(next.owner);
      next.grant();
    } else {
      this.resumeAll();
    }
  }

  /** Drops every hold and queued request of an owner whose process has ended. */
  forget(owner: string): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].owner === owner) this.queue.splice(i, 1);
    if (this.holder === owner) {
      this.depth = 1;
      this.release(owner);
    }
  }

  /** A stage's process started: it is paused at once if another stage holds the machine. Returns its untrack. */
  track(owner: string, process: Pausable): () => void {
    this.running.set(owner, process);
    if (this.holder !== undefined && this.holder !== owner) this.pause(owner);
    return () => {
      this.resume(owner);
      this.running.delete(owner);
    };
  }

  /** Resumes every paused process and pauses none from now on (the run is ending or interrupted). */
  stop(): void {
    this.stopped = true;
    this.resumeAll();
  }

  get held(): boolean {
    return this.holder !== undefined;
  }

  private hold(owner: string): void {
    this.holder = owner;
    this.resume(owner);
    for (const other of this.running.keys()) if (other !== owner) this.pause(other);
  }

  private pause(owner: string): void {
    const process = this.running.get(owner);
    if (this.stopped || !process || this.paused.has(owner)) return;
    this.paused.add(owner);
    process.pause();
  }

  private resume(owner: string): void {
    if (!this.paused.delete(owner)) return;
    this.running.get(owner)?.resume();
  }

  private resumeAll(): void {
    for (const owner of [...this.paused]) this.resume(owner);
  }
}
