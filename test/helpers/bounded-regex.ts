/**
 * RegExp#test for the test interpreters of the targets, within a time bound. They run V8's
 * backtracking engine on the regexes the printers emit, and on a random pattern with nested
 * quantifiers (`(?:(?:[^a]{1,3}||){1,3}|)*...`) V8 can run for hours (a CI run hung on one);
 * Node's vm timeout interrupts a running RegExp. The evaluator's own engine is linear-time.
 */
import vm from 'node:vm';

/** V8 could not decide within the bound: the case is undecided, neither an agreement nor a disagreement. */
export class UndecidedRegex extends Error {
  constructor(rx: RegExp, text: string) {
    super(`V8 could not decide /${rx.source}/${rx.flags} on a text of ${text.length} units within 1 s`);
    this.name = 'UndecidedRegex';
  }
}

const sandbox = vm.createContext({});
const script = new vm.Script('r.test(t)');

export function boundedTest(rx: RegExp, text: string): boolean {
  Object.assign(sandbox, { r: rx, t: text });
  try {
    return script.runInContext(sandbox, { timeout: 1000 }) as boolean;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new UndecidedRegex(rx, text);
    throw e;
  }
}
