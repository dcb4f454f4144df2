/**
 * `--placeholders FILE` and `--placeholder name=value` as options of a command (placeholders.ts reads
 * them): apart from the parser, so that the command line is set up without loading it.
 */
import type { Command } from 'commander';

export interface PlaceholderOptions {
  /** `--placeholders FILE` */
  placeholders?: string;
  /** `--placeholder name=value`, repeatable */
  placeholder?: string[];
}

/** Adds the two options to a command. */
export function placeholderOptions(cmd: Command): Command {
  return cmd
    .option('--placeholders <file>', "values of the rules' %name% placeholders: a YAML map of name: value or name: [values]")
    .option(
      '--placeholder <name=value>',
      'the value of one placeholder (repeat a name for a list); replaces the --placeholders value of that name',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    );
}
