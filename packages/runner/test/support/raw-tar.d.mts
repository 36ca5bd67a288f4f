export function rawTarHeader(path: string, size: number, type: string, linkname?: string): Buffer;
export function rawTar(entries: { name: string; data?: string; type?: string; linkname?: string }[]): Buffer;
