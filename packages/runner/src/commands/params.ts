import { stringify } from 'yaml';
import { parseCommandArgs } from '../args.js';
import { help, openPipeline, pipelineOptions } from './pipeline.js';
import { printJson } from './output.js';

export const paramsHelp = `lenna params <pipeline.yaml> [--set <stage>.<param>=<v>]... [--json]

Prints the params each stage instance would run with: the pipeline's params, shared params
substituted, --set applied, then every default filled in by the stage's own schema. Runs nothing.
As YAML (instance id -> params), or with --json as {"pipeline", "stages": [{"id", "stage", "params"}]}.

Example: lenna params pipelines/quickstart.yaml --set darts-search.dataset.limit=1024`;

export async function paramsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('params', argv, { ...pipelineOptions, json: { type: 'boolean' } });
  if (values.help) return help(paramsHelp);
  const pipeline = await openPipeline('params', positionals, values.set as string[] | undefined);
  if (values.json) {
    printJson({ pipeline: pipeline.name, stages: pipeline.instances.map((i) => ({ id: i.id, stage: i.stage.ref.definition.name, params: i.params })) });
  } else {
    process.stdout.write(stringify(Object.fromEntries(pipeline.instances.map((i) => [i.id, i.params]))));
  }
  return 0;
}
