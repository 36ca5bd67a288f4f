import { isArtifactId, UserError } from '@lenna/core';

/**
 * What `lenna export` writes and `lenna import` accepts, and nothing else:
 *   objects/<id>/manifest.json, objects/<id>/<file>   every file of each artifact
 *   cache/<cacheKey>.json                              the cache records of the runs that made them
 *   pipelines/<name>.lock.json                         the pipeline's lock file, when given
 */
export const MANIFEST = 'manifest.json';
export const CACHE_KEY = /^[A-Za-z0-9._-]+$/;
export const LOCK_NAME = /^[A-Za-z0-9._-]+\.lock\.json$/;
/** Longest file name component most file systems take (bytes). */
const NAME_MAX = 255;
const PATH_MAX = 4096;

export type Placed =
  | { kind: 'object'; id: string; file: string }
  | { kind: 'cache'; key: string }
  | { kind: 'lock'; name: string }
  | { kind: 'folder' };

const TYPE_NAMES: Record<string, string> = {
  link: 'a hard link',
  symlink: 'a symbolic link',
  'character-device': 'a character device',
  'block-device': 'a block device',
  fifo: 'a FIFO',
};

/** Where an entry would land, or a UserError naming it if anywhere but objects/<id>/, cache/ or pipelines/. */
export function placeEntry(path: string, type: string, where: string): Placed {
  const refuse = (why: string) => new UserError(`${where}: entry "${path}" ${why}; import accepts only objects/<id>/<file>, cache/<key>.json and pipelines/<name>.lock.json.`);
  if (TYPE_NAMES[type]) throw refuse(`is ${TYPE_NAMES[type]}, which import never creates`);
  if (type !== 'file' && type !== 'contiguous-file' && type !== 'directory') throw refuse(`has tar type '${type}', which import does not accept`);
  const clean = path.replace(/^(\.\/)+/, '');
  if (clean.startsWith('/') || /^[A-Za-z]:/.test(clean)) throw refuse('is an absolute path');
  // eslint-disable-next-line no-control-regex
  if (clean.includes('\\') || /[\u0000-\u001f\u007f]/.test(clean)) throw refuse('has a backslash or control character in its path');
  const parts = clean.replace(/\/$/, '').split('/');
  if (parts.some((p) => p === '..')) throw refuse("contains '..'");
  if (parts.some((p) => p === '' || p === '.')) throw refuse('has an empty or "." path segment');
  if (parts.some((p) => Buffer.byteLength(p) > NAME_MAX) || Buffer.byteLength(clean) > PATH_MAX) throw refuse(`has a name longer than a file system takes (${NAME_MAX} bytes a component)`);
  if (type === 'directory') {
    const folderOk = (parts[0] === 'objects' && (parts.length === 1 || isArtifactId(parts[1]))) || (parts.length === 1 && (parts[0] === 'cache' || parts[0] === 'pipelines'));
    if (!folderOk) throw refuse('is a folder outside objects/<id>/, cache/ and pipelines/');
    return { kind: 'folder' };
  }
  if (parts[0] === 'objects' && parts.length >= 3 && isArtifactId(parts[1])) return { kind: 'object', id: parts[1], file: parts.slice(2).join('/') };
  if (parts[0] === 'cache' && parts.length === 2 && parts[1].endsWith('.json') && CACHE_KEY.test(parts[1].slice(0, -5))) return { kind: 'cache', key: parts[1].slice(0, -5) };
  if (parts[0] === 'pipelines' && parts.length === 2 && LOCK_NAME.test(parts[1])) return { kind: 'lock', name: parts[1] };
  throw refuse('lands outside objects/<id>/, cache/ and pipelines/');
}
