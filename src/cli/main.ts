import { demo } from './demo.js';
import { evalCommand } from './eval.js';
import { latencyCommand, lutCommand } from './latency.js';
import { predictCommand } from './predict.js';
import { pruneCommand } from './prune.js';
import { UsageError, WgpruneError } from '../runtime/errors.js';

const commands: Record<string, { run: (args: string[]) => Promise<void>; help: string }> = {
  demo: { run: demo, help: 'run the kernels on this machine\'s WebGPU adapter and check them against the CPU' },
  eval: { run: evalCommand, help: 'score a model on a GLUE task or SQuAD dev set' },
  predict: { run: predictCommand, help: 'write per-example logits or answers as JSON lines' },
  prune: { run: pruneCommand, help: 'prune a model to a MACs or latency budget and write the smaller model (Fisher, search, rearrangement, tuning, export)' },
  latency: { run: latencyCommand, help: 'time a forward pass of a model on this adapter' },
  lut: { run: lutCommand, help: 'measure the latency table of a model\'s blocks on this adapter (for prune --metric latency)' },
};

function usage(): string {
  return ['usage: wgprune <command> [options] [--debug]', '', 'commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.help}`),
    '', 'Run `wgprune <command> --help` for its options. --debug shows the stack trace of an error.'].join('\n');
}

/**
 * `--flag -1` as `--flag=-1`: Node's parseArgs reads a value starting with '-' as an option
 * and calls it ambiguous, but no option of ours looks like a number.
 */
function joinNegativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!, next = args[i + 1];
    if (a === '--') { out.push(...args.slice(i)); break; }
    if (/^--[^=]+$/.test(a) && next !== undefined && /^-(\d|\.\d)/.test(next)) { out.push(`${a}=${next}`); i++; }
    else out.push(a);
  }
  return out;
}

/** parseArgs' own errors (unknown option, missing value...) in our words; they are usage errors. */
function parseArgsMessage(e: Error & { code?: string }): string {
  const m = e.message;
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${/'([^']+)'/.exec(m)?.[1] ?? m}`;
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'([^']*)'/.exec(m)?.[0] ?? m}: options are written --name value`;
  const missing = /^Option '(-[^ ']+)(?: <value>)?' argument missing/.exec(m);
  if (missing) return `${missing[1]} needs a value`;
  const noValue = /^Option '(-[^ ']+)' does not take an argument/.exec(m);
  if (noValue) return `${noValue[1]} takes no value`;
  return m.split('\n')[0]!;
}

/**
 * How an error ends the command: one line `wgprune <command>: ...` on stderr, and the exit
 * status: 2 for a usage error (a bad command line), 1 for any other failure. Only our own
 * errors and Node's file errors carry a message meant for the user; anything else is a bug,
 * said so, with the stack trace under --debug.
 */
function reportError(command: string, e: unknown, debug: boolean): number {
  const err: Error & { code?: unknown; syscall?: unknown } = e instanceof Error ? e : new Error(String(e));
  const oneLine = (s: string) => s.split('\n\n')[0]!.replace(/\s*\n\s*/g, ' ');
  let line: string, status = 1;
  if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
    line = `${parseArgsMessage(err as Error & { code: string })} (see wgprune ${command} --help)`;
    status = 2;
  } else if (err instanceof UsageError) {
    line = `${oneLine(err.message)} (see wgprune ${command} --help)`;
    status = 2;
  } else if (err instanceof WgpruneError) {
    line = oneLine(err.message);
  } else if (typeof err.code === 'string' && typeof err.syscall === 'string') {
    line = oneLine(err.message); // ENOSPC, EACCES... as Node words them, with the path
  } else {
    line = `internal error: ${oneLine(err.message)} (a bug; run again with --debug for the stack trace)`;
  }
  console.error(`wgprune ${command}: ${line}`);
  if (debug) console.error(err.stack ?? err);
  return status;
}

const argv = process.argv.slice(2);
const dashdash = argv.indexOf('--');
const debug = argv.slice(0, dashdash < 0 ? argv.length : dashdash).includes('--debug');
const [name, ...args] = argv.filter((a, i) => a !== '--debug' || (dashdash >= 0 && i > dashdash));
if (!name || name === '--help' || name === '-h') {
  console.log(usage());
} else if (!Object.prototype.hasOwnProperty.call(commands, name)) {
  console.error(`wgprune: unknown command "${name}"; the commands are ${Object.keys(commands).join(', ')} (see wgprune --help)`);
  process.exitCode = 2;
} else {
  try {
    await commands[name]!.run(joinNegativeValues(args));
  } catch (e) {
    process.exitCode = reportError(name, e, debug);
  }
}
