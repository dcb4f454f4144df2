/** A rule-loading worker thread (`--jobs N`; parallel.ts starts it and speaks to it). */
import { parentPort } from 'node:worker_threads';
import { serveLoadWorker } from './parallel.js';

if (!parentPort) throw new Error('load-worker.js is started by rulec as a worker thread, not run on its own');
serveLoadWorker(parentPort);
