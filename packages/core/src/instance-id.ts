/*
 * A stage instance's id: the pipeline stage's id, then `@` and its matrix values as `name=value`
 * pairs joined by commas (`darts-search@lambda=0.1,seed=2`). The runner names instances this way;
 * the report and `lenna compare` read the values back. A value may hold commas itself (a swept YAML
 * list, `hidden=64,64`): a comma starts a new pair only where a `name=` follows it.
 */

export function formatInstanceId(stage: string, pairs: Array<[string, string]>): string {
  return pairs.length ? `${stage}@${pairs.map(([name, value]) => `${name}=${value}`).join(',')}` : stage;
}

/** The pipeline stage an instance belongs to (`darts-search` of `darts-search@lambda=0.1`). */
export function instanceStage(id: string): string {
  const at = id.indexOf('@');
  return at < 0 ? id : id.slice(0, at);
}

/** An instance's matrix values by name, in id order; empty for an instance that is not swept. */
export function instanceKeys(id: string | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  const at = id?.indexOf('@') ?? -1;
  if (id === undefined || at < 0) return keys;
  for (const pair of id.slice(at + 1).split(/,(?=[\w.-]+=)/)) {
    const eq = pair.indexOf('=');
    if (eq > 0) keys.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return keys;
}
