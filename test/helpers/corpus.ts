/** The SigmaHQ rules of `../shared` (tests that need them skip when it is absent). */
export const SIGMAHQ = new URL('../../../shared/sigmahq/rules', import.meta.url).pathname;
