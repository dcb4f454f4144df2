/** The documented exit statuses of every rulec command. */
export const EXIT_OK = 0;
/** Invalid rules, failed tests, or detections where the command reports them as failures. */
export const EXIT_FAILED = 1;
/** Usage or configuration errors: nothing was checked. */
export const EXIT_USAGE = 2;

export { UsageError } from '../diag/diagnostic.js';
