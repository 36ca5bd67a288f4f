/**
 * The watchdog process: `node watchdog.js`, its stdin a pipe from the runner. The runner writes
 * `+<pid> <start>` when it starts a stage process and `-<pid>` when that process has ended. When the
 * pipe closes — the runner exited, or was killed with SIGKILL, which no handler in it can catch —
 * every stage process still listed is continued (one the runner had paused with SIGSTOP cannot act on
 * anything else), asked to stop (SIGTERM), and killed (SIGKILL) if it is still there after a grace
 * period. A pid is only signalled while its start time still matches, so a reused pid is left alone.
 */
// The light entry: the watchdog starts in tens of milliseconds and never loads Arrow.
import { processIsLive } from '@lenna/core/holder';

const GRACE_MS = 4000;
const stages = new Map<number, number | null>();

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

function live(): number[] {
  return [...stages].filter(([pid, start]) => processIsLive(pid, start)).map(([pid]) => pid);
}

function onLine(line: string): void {
  const match = /^([+-])(\d+)(?: (\d+|null))?$/.exec(line.trim());
  if (!match) return;
  const pid = Number(match[2]);
  if (match[1] === '-') stages.delete(pid);
  else stages.set(pid, match[3] && match[3] !== 'null' ? Number(match[3]) : null);
}

async function endStages(): Promise<void> {
  for (const pid of live()) {
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGTERM');
  }
  const deadline = Date.now() + GRACE_MS;
  while (live().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of live()) signal(pid, 'SIGKILL');
}

// Ctrl-C reaches the whole foreground process group: the runner handles it; the watchdog stays to clean up.
for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(name, () => undefined);

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  lines.forEach(onLine);
});
process.stdin.on('end', () => {
  void endStages().then(() => process.exit(0));
});
process.stdin.on('error', () => {
  void endStages().then(() => process.exit(0));
});
