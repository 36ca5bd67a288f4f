/** Types of bundle.mjs, for the tests. */
export interface Metafile {
  inputs: Record<string, { bytes: number; imports: { path: string; external?: boolean }[] }>;
  outputs: Record<string, { bytes: number; inputs: Record<string, unknown>; imports: { path: string; external?: boolean }[] }>;
}
export const PAGE_SCRIPT: string;
export const WASM_FILES: string[];
export function bundlePage(outDir: string, entry?: string): Promise<Metafile>;
