/**
 * The rulec command line. Commands call the library and map results to exit statuses; the library
 * never exits or prints. Usage errors exit 2, invalid input 1, and no error escapes as a stack trace
 * unless RULEC_DEBUG is set. Each command's module is loaded when it runs: start-up loads commander
 * and little else (a replayed build loads nothing more, docs/performance.md).
 */
import { Command, CommanderError } from 'commander';
import type { BuildOptions } from './commands/build.js';
import type { ScanOptions } from './commands/scan.js';
import type { TestOptions } from './commands/test.js';
import type { ListOptions } from './commands/list.js';
import type { ExplainCliOptions } from './commands/explain.js';
import type { CatalogCliOptions } from './commands/catalog.js';
import type { ImportCliOptions } from './commands/import.js';
import { targetNames } from '../targets/registry.js';
import { EXIT_FAILED, EXIT_USAGE, UsageError } from './exit-codes.js';
import { OutputError } from '../diag/diagnostic.js';
import { stdio, type Output } from './output.js';
import { placeholderOptions, type PlaceholderOptions } from './placeholder-options.js';
import { cacheOptions, type CacheOptions } from './cache.js';
import { jobsOption } from './jobs.js';
import { replayBuildFromOptions } from './build-record.js';

export async function main(argv: string[], io: Output = stdio): Promise<number> {
  let status = 0;
  // Listing targets means loading them all (about a second): only for a help request.
  const wantsHelp = argv.some((a) => a === '--help' || a === '-h') || argv[0] === 'help';
  const list = wantsHelp ? await import('./commands/list.js') : undefined;
  const targets = list ? await list.describeTargets() : [];
  const targetsText = list ? list.targetsHelp(targets) : '';
  const scanText = list ? list.scanHelp(targets) : '';
  const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];
  const program = new Command('rulec')
    .description('Compile detection rules (Sigma v2.1 and extensions) to KQL, EQL, SPL and a native evaluator')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .showSuggestionAfterError(true);

  program
    .command('check')
    .description('validate rules: YAML, schema, modifiers, conditions, regexes, networks, duplicate ids')
    .argument('[paths...]', 'rule files or directories (recursive)', [])
    .option('--json', 'one JSON object per rule document on stdout')
    .option('--warnings', 'print warnings as well as errors')
    .option('--strict', 'log sources and fields that no platform maps are errors, not warnings')
    .action(async (paths: string[], opts: { json?: boolean; warnings?: boolean; strict?: boolean }) => {
      status = await (await import('./commands/check.js')).runCheck(paths, opts, io);
    });

  program
    .command('build')
    .description('compile rules to a target query language and its deployable formats')
    .requiredOption('-t, --target <target>', `target: ${targetNames().join(', ')}`)
    .option('-p, --platform <platform>', "target platform (default: the target's first)")
    .option('-f, --format <format>', 'output format', 'query')
    // Not variadic (<file...>): that would take the rule paths after it as mapping files too.
    .option('-m, --mapping <file>', 'a mapping file that extends or overrides the platform mapping (repeat for several; later files win)', collect)
    .option('-o, --out <dir>', 'write one file per rule (atomically) under this directory')
    .option('--json', 'one JSON object per rule on stdout')
    .option('--validate', "check every emitted query with the target's parser or analyzer")
    .option('--fail-on <kinds>', 'refusal kinds that fail the build (exit 1), comma-separated: unsupported (the target language cannot express the rule), mapping (no mapping for a field or log source), invalid (the rule is wrong), all, none; the others are reported and skipped (default: invalid)')
    .option('--skip-unsupported', 'the default --fail-on invalid (kept for older scripts)')
    .option('--index <names>', 'spl, eql: the indexes to search (comma-separated), over the platform setting')
    .option('--enable', 'spl, eql: write deployable content enabled (it is written disabled otherwise)')
    .argument('[paths...]', 'rule files or directories (recursive)', [])
    .addHelpText('after', targetsText)
    .action(async (paths: string[], opts: BuildOptions) => {
      // A build whose inputs and outputs are all as its record saw them prints the record (build-record.ts) without loading the compiler.
      status = replayBuildFromOptions(paths, opts, io) ?? (await buildWithWorkers(paths, opts, io));
    });

  program
    .command('list')
    .description('print what exists: targets, platforms, formats, logsources, or the fields of one log source')
    .argument('<what>', 'targets | platforms | formats | logsources | fields')
    .argument('[logsource]', 'for fields: product/category/service, parts may be empty (windows/process_creation, windows//security)')
    .option('-t, --target <target>', 'only this target')
    .option('-p, --platform <platform>', 'only this platform')
    .option('--json', 'one JSON object a line')
    .addHelpText('after', targetsText)
    .action(async (what: string, logsource: string | undefined, opts: ListOptions) => {
      status = await (await import('./commands/list.js')).runList(what, logsource === undefined ? [] : [logsource], opts, io);
    });

  program
    .command('ir')
    .description('print the match IR of each rule (one JSON object a line)')
    .argument('[paths...]', 'rule files or directories (recursive)', [])
    .action(async (paths: string[], opts: PlaceholderOptions & CacheOptions) => {
      status = (await import('./commands/ir.js')).runIr(paths, io, opts);
    });

  program
    .command('scan')
    .description('run rules over events with the native evaluator (JSON Lines or JSON array files; - reads standard input)')
    .option('-r, --rules <path>', 'rule file or directory (repeat for several)', collect)
    .option('--json', 'one JSON object per detection on stdout: rule_id, title, level, file, line; and per correlation hit: kind, rule, group, window, value, events')
    .option('--include-event', 'with --json, add the event to each detection')
    .option('--no-index', 'evaluate every routed rule on every event (no witness prefilter; same detections, slower)')
    .option('--max-event-bytes <n>', 'skip (and report) events longer than this (default: 1048576)')
    .option('--max-depth <n>', 'skip (and report) events nested deeper than this (default: 32)')
    .option('-l, --logsource <product/category/service>', "the log source of every event of the input (parts may be empty: windows/process_creation, windows//security): only that log source's rules run, on every event")
    .option('--min-level <level>', 'only rules of this level or higher: informational, low, medium, high, critical')
    .option('-m, --mapping <target/platform or file>', "rename event fields to Sigma's: a platform's mapping read in reverse (kusto/defender-xdr, with --logsource) or a file of fields: {<event field>: <Sigma field>} (repeat for several)", collect)
    .option('-j, --jobs <n>', 'threads that evaluate events, with the same output as one (default: the number of cores; 1 for inputs under 16 MB)')
    .option('--time-field <field>', "correlations: read each event's time from this field (repeat for several, first present wins; default: backends/eval/time-fields.yml)", collect)
    .option('--reorder <duration>', 'correlations: accept events up to this late (30s, 5m) and put them back in time order (default: input must be in time order)')
    .option('--all-matches', "report the matches of the rules correlations refer to, also where the correlation says generate: false")
    .argument('[files...]', 'event files, - for standard input (default: standard input)')
    .addHelpText('after', scanText)
    .action(async (files: string[] | undefined, opts: ScanOptions) => {
      status = await (await import('./commands/scan.js')).runScan(files ?? [], opts, io);
    });

  program
    .command('test')
    .description("run the inline tests of rules and regression manifests (rule + events + minimum matches)")
    .argument('[paths...]', 'rule files or directories whose inline tests to run (default: rules/ when no --manifest)')
    .option('-m, --manifest <file>', 'a regression manifest (repeat for several)', collect)
    .option('--junit <file>', 'also write the results as JUnit XML')
    .option('--json', 'one JSON object per test case on stdout')
    .action(async (paths: string[] | undefined, opts: TestOptions) => {
      status = await (await import('./commands/test.js')).runTest(paths ?? [], opts, io);
    });

  program
    .command('explain')
    .description("a rule's catalog page: ATT&CK coverage, references, event coverage, query stages, indicators, output fields")
    .argument('<rule>', 'a rule file')
    .option('-t, --target <target>', 'the target whose query the stages come from (kusto, eql, spl, ts)', 'kusto')
    .option('-p, --platform <platform>', "the target's platform (default: its first)")
    .option('--json', 'one JSON object per rule on stdout')
    .option('--corpus <paths...>', "rules to count shared indicators in (default: the rule's folder tree)")
    .action(async (rule: string, opts: ExplainCliOptions) => {
      // Colour only on a terminal, and only for the real stdout (tests pass their own Output).
      status = await (await import('./commands/explain.js')).runExplain(rule, opts, io, io === stdio && process.stdout.isTTY === true && !process.env.NO_COLOR);
    });

  program
    .command('catalog')
    .description('a static HTML catalog of the rules: a searchable index, a page per rule (every explain section, the body for each target), an ATT&CK heatmap, catalog.json')
    .argument('[paths...]', 'rule files or directories (recursive; default rules/)', [])
    .requiredOption('-o, --out <dir>', 'the folder to write the site to (only files rulec wrote there are replaced or removed)')
    .option('--title <title>', 'the title of the site', 'Detection catalog')
    // Not variadic: that would take the rule paths after it as target names too.
    .option('-t, --target <targets>', 'the targets whose rule bodies the pages show, repeated or comma-separated; the first one\'s stages are shown (default: kusto,eql,spl,ts)', collect)
    .action(async (paths: string[], opts: CatalogCliOptions) => {
      status = await (await import('./commands/catalog.js')).runCatalog(paths, opts, io);
    });

  program
    .command('import')
    .description('lift native queries into rules of the model: KQL files, Sentinel analytic rules, rulec sentinel-yaml/sentinel-arm/defender-json artifacts')
    .requiredOption('--from <language>', 'the language of the inputs: kusto')
    .option('--fields <mode>', 'native: keep the table columns (the rule builds back to that Kusto platform); sigma: Sigma taxonomy fields where the mapping is exact', 'native')
    .option('-p, --platform <platform>', 'the platform whose tables the queries read: sentinel, defender-xdr (default: Sentinel rules sentinel, Defender rules defender-xdr, a query the platform whose tables it reads)')
    .option('-o, --out <dir>', 'write one rule file per input (atomically), named from the rule title')
    .option('--json', 'one JSON object per input on stdout: path, ok, rule or error, kind')
    .argument('[paths...]', 'input files or directories, - for standard input')
    .action(async (paths: string[], opts: ImportCliOptions) => {
      status = await (await import('./commands/import.js')).runImport(paths, opts, io);
    });

  // Every command that loads rules takes the deployment's placeholder values and the rule cache.
  for (const c of program.commands) if (['check', 'build', 'ir', 'scan', 'test', 'explain', 'catalog'].includes(c.name())) cacheOptions(placeholderOptions(c));
  // Import loads no rule, but parsing KQL is its cost: its results are cached too.
  for (const c of program.commands) if (c.name() === 'import') cacheOptions(c);
  // Those that load whole collections also load them on several threads (scan has its own --jobs).
  for (const c of program.commands) if (['check', 'build', 'catalog'].includes(c.name())) jobsOption(c);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; anything else commander rejects is a usage error (already printed).
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof UsageError) {
      io.err(`rulec: ${e.message}`);
      return EXIT_USAGE;
    }
    if (e instanceof OutputError) {
      io.err(`rulec: ${e.message}`);
      return EXIT_FAILED;
    }
    if (process.env.RULEC_DEBUG) throw e;
    io.err(`rulec: internal error: ${(e as Error).message} (set RULEC_DEBUG=1 for details)`);
    return EXIT_FAILED;
  } finally {
    io.flush?.();
  }
}

/** A build whose workers, when it is a cold one, start before the compiler's modules load (cli/build-prestart.ts). */
async function buildWithWorkers(paths: string[], opts: BuildOptions, io: Output): Promise<number> {
  const workers = (await import('./build-prestart.js')).prestartBuildWorkers(paths, opts);
  try {
    return await (await import('./commands/build.js')).runBuild(paths, opts, io, workers);
  } finally {
    await workers?.release();
  }
}
