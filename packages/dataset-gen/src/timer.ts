import type { LatencyTimer as TargetTimer } from '@lenna/measure-target';

export type { CellTimingRequest, OpTimingRequest } from '@lenna/measure-target';

/**
 * The one thing dataset-gen asks of a backend: how long a concrete cell or a single op takes. It is
 * kept this small on purpose. Which cells to time, in what order, against which reference cell, how
 * the timings become a label and when to stop is dataset-gen's protocol (protocol.ts, generate.ts),
 * which runs in Node over this interface whatever executes the cells.
 *
 * It is the cell and op half of @lenna/measure-target's timer, whose targets implement it: tfjs in
 * this Node process (`target: node`, createTfjsTimer) or LENNA's page in headless Chromium
 * (`target: browser`), both building each cell with nn's sampledCells of the request's kind and each
 * op site with nn's constructors, running it in inference mode on inputs drawn from `seed`, reading
 * every output back after each run, and returning one number per timed run: the milliseconds that run
 * took on its clock. Requests and answers are plain JSON; tests implement it over invented costs.
 */
export type LatencyTimer = Pick<TargetTimer, 'clock' | 'timeCell' | 'timeOp'> & Partial<Pick<TargetTimer, 'close'>>;
