import { UserError } from '@lenna/core';
import { parseCommandArgs } from '../args.js';
import { help } from './pipeline.js';
import { printJson } from './output.js';

export const doctorHelp = `lenna doctor [--json]

Which tfjs backend LENNA uses here (LENNA_BACKEND respected) and on what device; the NVIDIA GPUs,
CUDA 11.2 and cuDNN 8.1 libraries found; and what to install for the GPU backend.

Example: lenna doctor
         LENNA_BACKEND=tensorflow-gpu lenna doctor --json`;

interface Compute {
  diagnoseBackend(): Promise<unknown>;
  formatDiagnosis(d: unknown): string;
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('doctor', argv, { json: { type: 'boolean' } });
  if (values.help) return help(doctorHelp);
  // A variable specifier, as for @lenna/data: the diagnosis lives with the backend choice in compute.
  const specifier = '@lenna/compute';
  const compute = (await import(specifier).catch(() => undefined)) as Partial<Compute> | undefined;
  if (!compute?.diagnoseBackend || !compute.formatDiagnosis) throw new UserError('lenna doctor: @lenna/compute (with diagnoseBackend) is not built; run npx nx build compute.');
  const diagnosis = await compute.diagnoseBackend();
  if (values.json) printJson(diagnosis);
  else process.stdout.write(compute.formatDiagnosis(diagnosis));
  return 0;
}
