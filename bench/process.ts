/**
 * One `node bin/rulec.js` process as a user runs it, timed: wall seconds, and the child's user+system
 * CPU seconds from /usr/bin/time when it is there (less sensitive to other processes on a shared
 * machine). The build and import benchmarks share it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

export interface Run {
  wall: number;
  cpu?: number;
}

/** Runs rulec; any exit status outside `okStatus` fails the bench (a run that did not finish measures nothing). */
export function rulec(bin: string, args: string[], okStatus: number[] = [0]): Run & { stderr: string } {
  const cmd = TIME ?? process.execPath;
  const argv = TIME ? ['-f', 'RULEC_BENCH_CPU %U %S', process.execPath, bin, ...args] : [bin, ...args];
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status === null || !okStatus.includes(r.status)) throw new Error(`rulec ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-2000)}`);
  const m = /RULEC_BENCH_CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, stderr: r.stderr, ...(m ? { cpu: Number(m[1]) + Number(m[2]) } : {}) };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
