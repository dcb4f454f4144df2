/** Worker entry: parse and lower a slice of the files of a collection (see parallel.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { loadFiles } from './load.js';

const { files } = workerData as { files: string[] };
const port = parentPort!;
const rules = loadFiles(files, (n) => {
  if (n % 100 === 0) port.postMessage({ progress: n });
});
port.postMessage({ rules });
