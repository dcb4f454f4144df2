/** The CLI is the only writer to the terminal: these helpers keep machine output one JSON object a line. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  json(obj: unknown): void;
}

export const stdio: Output = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  json: (obj) => process.stdout.write(JSON.stringify(obj) + '\n'),
};
