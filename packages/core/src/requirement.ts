/**
 * A test's need for something outside Node and npm (a browser, ...). Where it is missing the test is
 * skipped with one line saying how to enable it; `LENNA_REQUIRE_<THING>=1` (CI sets it) turns that
 * skip into a failure, so CI cannot pass without running the test.
 */
export interface SystemRequirement<T> {
  /** What was found, e.g. the browser's path. */
  found: T | undefined;
  /** True when the test should be skipped: nothing found and not required. */
  skip: boolean;
  /** The found value; throws saying what is missing and how to get it (the test fails) where there is none. */
  get(): T;
}

export interface RequirementOptions {
  /** The suffix of the variable that makes it required: `BROWSER` for LENNA_REQUIRE_BROWSER. */
  thing: string;
  /** What is needed, for the messages: `Chromium`. */
  what: string;
  /** Which tests need it: `report.html in a browser`. */
  tests: string;
  /** How to provide it: `install Chromium (apt-get install chromium) or set CHROMIUM_PATH`. */
  howTo: string;
  env?: NodeJS.ProcessEnv;
  /** Where the skip line goes (stderr by default). */
  write?: (line: string) => void;
}

export function systemRequirement<T>(found: T | undefined, opts: RequirementOptions): SystemRequirement<T> {
  const variable = `LENNA_REQUIRE_${opts.thing}`;
  const required = (opts.env ?? process.env)[variable] === '1';
  const skip = found === undefined && !required;
  if (skip) {
    const write = opts.write ?? ((line: string) => process.stderr.write(line));
    write(`skipped ${opts.tests}: ${opts.what} not found; to run it, ${opts.howTo} (${variable}=1 makes this a failure).\n`);
  }
  return {
    found,
    skip,
    get() {
      if (found === undefined) throw new Error(`${variable}=1 but ${opts.what} is not found: ${opts.howTo}.`);
      return found;
    },
  };
}
