import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { processStartTime, stageHostEntry, type RunnerMessage, type StageMessage } from '@lenna/core';

/**
 * The seam between the runner and where a stage instance runs: start it from its job file, talk to
 * it, pause, resume or stop it, and learn how it ended. `localLauncher` runs it as a child process
 * of this machine; a cluster executor can provide another launcher.
 */
export interface StageLauncher {
  start(jobFile: string, logPath: string): Promise<StageProcess>;
}

export interface StageProcess {
  messages(): AsyncIterable<StageMessage>;
  send(message: RunnerMessage): Promise<void>;
  /** Freeze it while another stage holds the machine (no-op where it cannot be done). */
  pause(): void;
  resume(): void;
  /** Ask it to stop (it gets to save a checkpoint); it is killed if it has not ended after a grace period. */
  stop(): void;
  ended: Promise<StageEnd>;
}

export interface StageEnd {
  exitCode?: number;
  signal?: string;
}

/** Seconds a stage asked to stop (interrupt, timeout) gets before it is killed. */
const STOP_GRACE_MS = 5000;

/** `node <stageHostEntry> <job.json>` with an IPC channel, output appended to the log, watched by the watchdog. */
export const localLauncher: StageLauncher = {
  async start(jobFile, logPath) {
    // Loaded on first use: a run where everything is cached never pays for execa.
    const { execa } = await import('execa');
    const child = execa(process.execPath, [stageHostEntry, jobFile], {
      ipc: true,
      stdin: 'ignore',
      stdout: { file: logPath, append: true },
      stderr: { file: logPath, append: true },
      forceKillAfterDelay: STOP_GRACE_MS,
      reject: false,
    });
    const pid = child.pid;
    if (pid !== undefined) watchdog().watch(pid);
    const posix = process.platform !== 'win32';
    return {
      messages: () => child.getEachMessage() as AsyncIterable<StageMessage>,
      send: (message) => child.sendMessage(message).catch(() => undefined),
      pause: () => void (posix && child.kill('SIGSTOP')),
      resume: () => void (posix && child.kill('SIGCONT')),
      stop: () => {
        if (posix) child.kill('SIGCONT');
        child.kill('SIGTERM');
      },
      ended: child.then((result) => {
        if (pid !== undefined) watchdog().unwatch(pid);
        return { exitCode: result.exitCode, signal: result.signal ?? undefined };
      }),
    };
  },
};

/**
 * The runner's watchdog: a small process that outlives a runner killed with SIGKILL and ends the
 * stage processes it left (see watchdog.ts). One per runner process, started with the first stage.
 */
class Watchdog {
  private process: ChildProcess | undefined;

  watch(pid: number): void {
    this.write(`+${pid} ${processStartTime(pid)}\n`);
  }

  unwatch(pid: number): void {
    this.write(`-${pid}\n`);
  }

  private write(line: string): void {
    if (!this.process) this.process = startWatchdog();
    this.process.stdin?.write(line);
  }
}

function startWatchdog(): ChildProcess {
  const entry = fileURLToPath(new URL('./watchdog.js', import.meta.url));
  // Its own session: Ctrl-C and a closing terminal reach the runner, not the watchdog.
  const child = spawn(process.execPath, [entry], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.unref();
  // The pipe must not keep the runner alive; it closes when the runner's process ends, however it ends.
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  child.stdin?.on('error', () => undefined);
  return child;
}

let instance: Watchdog | undefined;

function watchdog(): Watchdog {
  instance ??= new Watchdog();
  return instance;
}
