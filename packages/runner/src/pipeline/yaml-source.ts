import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { UserError } from '@lenna/core';

/** A parsed YAML file that can say on which line a key sits, so errors point at it. */
export interface YamlSource {
  file: string;
  value: unknown;
  /** 1-based line of the deepest existing key along `path` (the file's first line if none). */
  lineOf(path: readonly (string | number)[]): number;
  /** `file:line: a.b.c` prefix for an error about `path`. */
  where(path: readonly (string | number)[]): string;
}

export async function readYamlSource(file: string, displayName = file): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError(`${displayName}: cannot read the pipeline file; give the path of an existing .yaml file.`);
  }
  return parseYamlSource(text, displayName);
}

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  // logLevel error: a warning (an unknown tag) must not reach stderr as a Node warning; the value is checked next.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, logLevel: 'error' });
  const firstError = doc.errors[0];
  if (firstError) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    const message = firstError.message.split('\n')[0];
    throw new UserError(`${file}:${line}: invalid YAML (${message}); fix the syntax at that line.`);
  }
  const lineOf = (path: readonly (string | number)[]): number => {
    const offset = offsetOf(doc, path);
    return offset === undefined ? 1 : lineCounter.linePos(offset).line;
  };
  return {
    file,
    value: documentValue(doc, file),
    lineOf,
    where: (path) => `${file}:${lineOf(path)}: ${formatPath(path)}`,
  };
}

/** The document as plain data; an alias without its anchor, or too many aliases, is the user's YAML to fix. */
function documentValue(doc: Document, file: string): unknown {
  try {
    return doc.toJS();
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new UserError(`${file}: invalid YAML (${message}); fix the anchors and aliases (&name, *name).`);
  }
}

export function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function offsetOf(doc: Document, path: readonly (string | number)[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return offset;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return offset;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
