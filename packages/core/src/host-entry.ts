#!/usr/bin/env node
// The stage process: `node host-entry.js <job.json>`, spawned by the runner with an IPC channel.
import { runStageJob } from './host.js';

const jobFile = process.argv[2];
if (!jobFile) {
  process.stderr.write('usage: node host-entry.js <job.json>\n');
  process.exit(2);
}
const status = await runStageJob(jobFile);
// Exit explicitly: a stage may leave timers or worker threads (tfjs) that would keep the process alive.
process.exit(status);
