/** A `rulec scan --jobs N` worker thread (parallel.ts starts it and speaks to it). */
import { parentPort } from 'node:worker_threads';
import { serveWorker } from './parallel.js';

if (!parentPort) throw new Error('scan-worker.js is started by rulec scan as a worker thread, not run on its own');
serveWorker(parentPort);
