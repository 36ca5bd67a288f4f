// Hostile tar archives, built block by block so each header says exactly what an attack needs (a
// well-behaved writer such as tar-stream refuses to write them). Used by the archive tests and the
// fault suite (faults/archives.mjs).

/** One ustar header block; a path longer than 100 bytes goes through ustar's prefix field (split at a '/'). */
export function rawTarHeader(path, size, type, linkname = '') {
  const block = Buffer.alloc(512);
  const split = path.length > 100 ? path.indexOf('/', path.length - 101) : -1;
  block.write(split < 0 ? path : path.slice(split + 1), 0, 100, 'utf8');
  if (split >= 0) block.write(path.slice(0, split), 345, 155, 'utf8');
  block.write('0000644\0', 100, 'ascii');
  block.write('0000000\0', 108, 'ascii');
  block.write('0000000\0', 116, 'ascii');
  block.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  block.write('00000000000\0', 136, 'ascii');
  block.write(type, 156, 'ascii');
  block.write(linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return block;
}

/** A whole archive of the given entries (type '0' a file, '2' a symlink, '5' a folder, ...). */
export function rawTar(entries) {
  const parts = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    parts.push(rawTarHeader(e.name, data.length, e.type ?? '0', e.linkname), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
