import { errorMessage, fsErrorAsUserError, InterruptedError, isUserError } from '@lenna/core';
import { lennaVersion } from './run-facts.js';

export { lennaVersion };

const usage = `lenna — hardware-aware DARTS pipelines with content-hash caching

Usage: lenna <command> [options]   (lenna <command> --help for each)
       lenna --version

  run <pipeline.yaml>      run what is not cached (--set, --only, --from, --force, --dry-run, --cached-only, --jobs, --json,
                           --executor slurm [--partition P] [--account A] [--detach])
  status <pipeline.yaml>   each stage: cached or to run, and why; its SLURM job and state where it has one
  cancel <pipeline.yaml>   cancel the pipeline's queued and running SLURM jobs
  dag <pipeline.yaml>      the stage graph (--mermaid)
  params <pipeline.yaml>   each stage instance's params, defaults filled in (--set, --json)
  show <id | instance | file>   an artifact, a stage's outputs, an Arrow/safetensors/JSON file (--path: its folder)
  stage <package>          run one stage alone (--in, --param, --out)
  gc [--dry-run]           remove artifacts no lock file and no run record references
  verify                   re-hash the store, quarantine what is corrupt; exit 1 if anything was
  data check <dataset>     check an image data set
  export <pipeline> <tar>  pack every artifact the pipeline's lock file references
  import <tar>             put an exported tar's artifacts into the store, verifying every hash
  report <pipeline>        print the report table and where its files are
  compare <pipeline> <stage>.<output>   one table of an output's rows across a sweep
  doctor                   the tfjs backend and device here, CUDA/cuDNN found, what to install for the GPU
  job <job file>           what a SLURM job runs (lenna run --executor slurm writes the job files)

--set <stage>.<param>=<value>: a,b,c sweeps; "a,b" (quoted) is one value with a comma; null is null;
<stage>.<param>.<key>=<value> sets a key inside an object param (darts-search.dataset.limit=1024).

Exit status: 0 ok, 1 a stage failed, 2 a usage or pipeline error (also: disk full, read-only store,
permission denied, a lock wait past --lock-timeout), 3 --cached-only with stages to run.
The store is ./artifacts (LENNA_STORE overrides).

Example: lenna run pipelines/quickstart.yaml`;

type Command = (argv: string[]) => Promise<number>;

// Each command's module is imported on use: a no-op `lenna run` should not pay for `show`'s readers.
const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/pipeline.js')).runCommand,
  status: async () => (await import('./commands/pipeline.js')).statusCommand,
  cancel: async () => (await import('./commands/cancel.js')).cancelCommand,
  job: async () => (await import('./commands/job.js')).jobCommand,
  dag: async () => (await import('./commands/pipeline.js')).dagCommand,
  params: async () => (await import('./commands/params.js')).paramsCommand,
  show: async () => (await import('./commands/show.js')).showCommand,
  stage: async () => (await import('./commands/stage.js')).stageCommand,
  gc: async () => (await import('./commands/store.js')).gcCommand,
  verify: async () => (await import('./commands/store.js')).verifyCommand,
  data: async () => (await import('./commands/data.js')).dataCommand,
  export: async () => (await import('./commands/archive.js')).exportCommand,
  import: async () => (await import('./commands/archive.js')).importCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  compare: async () => (await import('./commands/compare.js')).compareCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
};

const EXIT_USER = 2;
const EXIT_FAILED = 1;
const EXIT_INTERRUPTED = 130;

function help(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}


/** The `lenna` command line; returns the process exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return help(usage);
  if (name === '--version' || name === '-V') return help(`lenna ${lennaVersion()}`);
  const load = commands[name];
  if (!load) {
    process.stderr.write(`lenna: unknown command "${name}"; commands: ${Object.keys(commands).join(', ')} (lenna --help).\n`);
    return EXIT_USER;
  }
  try {
    return await (await load())(rest);
  } catch (caught) {
    if (caught instanceof InterruptedError) return EXIT_INTERRUPTED;
    // A full disk, a read-only store, a permission problem: one sentence naming the path and the fix.
    const error = fsErrorAsUserError(caught) ?? caught;
    if (isUserError(error)) {
      process.stderr.write(`lenna: ${errorMessage(error)}\n`);
      return EXIT_USER;
    }
    process.stderr.write(`lenna: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_FAILED;
  }
}
