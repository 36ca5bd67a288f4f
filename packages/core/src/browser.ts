import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from './errors.js';

/** Variables that name a Chromium (or Chrome) executable; the first one set wins over PATH. */
export const CHROMIUM_PATH_VARIABLES = ['CHROMIUM_PATH', 'PUPPETEER_EXECUTABLE_PATH'] as const;

/** Names the browser has on PATH: Debian's package, Ubuntu's older one, Google's builds. */
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'] as const;

/** What a user does to give LENNA a browser. */
export const CHROMIUM_HOW_TO = 'install Chromium (apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome executable';

/**
 * The Chromium executable to use: from CHROMIUM_PATH or PUPPETEER_EXECUTABLE_PATH when set, else the
 * first of CHROMIUM_NAMES on PATH; undefined when there is none. A variable that names no executable
 * file is a mistake to fix, not a reason to quietly use another browser.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const variable of CHROMIUM_PATH_VARIABLES) {
    const path = env[variable];
    if (!path) continue;
    if (!isExecutableFile(path)) throw new UserError(`${variable}=${path} is not an executable file; point it at a Chromium or Chrome executable, or unset it.`);
    return path;
  }
  return findOnPath(CHROMIUM_NAMES, env);
}

/** The first of `names` that is an executable file in a PATH folder (names in order of preference); undefined when none is. */
export function findOnPath(names: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
