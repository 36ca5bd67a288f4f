/**
 * The machine-wide "exclusive" grant: one holder at a time, waiters served first come first
 * served. Stages ask for it around their timing code; see StageContext.exclusive.
 */
export class ExclusiveLock {
  private holder: string | undefined;
  private depth = 0;
  private readonly queue: { owner: string; grant: () => void }[] = [];

  acquire(owner: string): Promise<void> {
    // Re-entrant for one owner: a stage may nest exclusive() calls.
    if (this.holder === undefined || this.holder === owner) {
      this.holder = owner;
      this.depth++;
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
      this.holder = next.owner;
      this.depth = 1;
      next.grant();
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

  get held(): boolean {
    return this.holder !== undefined;
  }
}
