import { chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { acquireFileLock, type HeldLock, type LockWaitOptions } from '@lenna/core';

/**
 * The "exclusive" grant, the one way a stage holds the machine (StageContext.exclusive, around its
 * timing code): one holder at a time, waiters served first come first served. A grant takes the
 * machine-wide timing lock first (a file lock under the system temp folder, shared by every lenna
 * process of this machine and every store), so two runs never time at the same moment. While a stage
 * holds the grant, every other running stage of this runner is paused (SIGSTOP, SIGCONT at release):
 * a training stage on the other core of a 2-core machine inflated retrain-eval's latencies by 10–25%.
 */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/** `$LENNA_TIMING_LOCK`, else `<system temp>/lenna/timing.lock`. */
export function machineLockPath(): string {
  return process.env.LENNA_TIMING_LOCK ?? join(tmpdir(), 'lenna', 'timing.lock');
}

export interface ExclusiveOptions {
  /** Wait options for the machine-wide lock (timeout, interrupt, who-holds-it messages); no machine lock when absent. */
  machine?: Omit<LockWaitOptions, 'what' | 'fair'>;
}

interface Waiter {
  owner: string;
  grant: () => void;
  refuse: (error: unknown) => void;
}

export class ExclusiveLock {
  private holder: string | undefined;
  private depth = 0;
  /** The holder is still waiting for the machine lock. */
  private acquiring = false;
  /** The holder's process ended while it waited for the machine lock. */
  private forgotten = false;
  private machineLock: HeldLock | undefined;
  private readonly queue: Waiter[] = [];
  private readonly running = new Map<string, Pausable>();
  private readonly paused = new Set<string>();
  private stopped = false;

  constructor(private readonly options: ExclusiveOptions = {}) {}

  acquire(owner: string): Promise<void> {
    // Re-entrant for one owner: a stage may nest exclusive() calls.
    if (this.holder === owner && !this.acquiring) {
      this.depth++;
      return Promise.resolve();
    }
    return new Promise((grant, refuse) => {
      this.queue.push({ owner, grant, refuse });
      this.next();
    });
  }

  release(owner: string): void {
    if (this.holder !== owner || this.acquiring) return;
    if (--this.depth > 0) return;
    this.holder = undefined;
    void this.machineLock?.release();
    this.machineLock = undefined;
    // Handed straight to the next waiter, the paused stages stay paused (no SIGCONT, SIGSTOP in between).
    if (this.queue.length === 0) this.resumeAll();
    this.next();
  }

  /** Drops every hold and queued request of an owner whose process has ended. */
  forget(owner: string): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].owner === owner) this.queue.splice(i, 1);
    if (this.holder !== owner) return;
    if (this.acquiring) this.forgotten = true;
    else {
      this.depth = 1;
      this.release(owner);
    }
  }

  /** A stage's process started: it is paused at once if another stage holds the machine. Returns its untrack. */
  track(owner: string, process: Pausable): () => void {
    this.running.set(owner, process);
    if (this.holder !== undefined && this.holder !== owner && !this.acquiring) this.pause(owner);
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

  private next(): void {
    if (this.holder !== undefined) return;
    const waiter = this.queue.shift();
    if (!waiter) return;
    this.holder = waiter.owner;
    this.depth = 1;
    this.acquiring = true;
    this.takeMachine().then(
      (lock) => {
        this.acquiring = false;
        this.machineLock = lock;
        // The stage ended while its request waited for the machine: give it back at once.
        if (this.forgotten) {
          this.forgotten = false;
          this.release(waiter.owner);
          return;
        }
        this.hold(waiter.owner);
        waiter.grant();
      },
      (error: unknown) => {
        this.acquiring = false;
        this.forgotten = false;
        this.holder = undefined;
        if (this.queue.length === 0) this.resumeAll();
        waiter.refuse(error);
        this.next();
      },
    );
  }

  private async takeMachine(): Promise<HeldLock | undefined> {
    if (!this.options.machine) return undefined;
    const path = machineLockPath();
    await mkdir(dirname(path), { recursive: true });
    // Every user of the machine shares the folder, as they share /tmp.
    await chmod(dirname(path), 0o1777).catch(() => undefined);
    return acquireFileLock(path, { ...this.options.machine, what: 'the machine-wide timing lock', fair: true });
  }

  private hold(owner: string): void {
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
