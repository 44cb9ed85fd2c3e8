import { demo } from './demo.js';
import { evalCommand } from './eval.js';
import { predictCommand } from './predict.js';
import { pruneCommand } from './prune.js';
import { WgpruneError } from '../runtime/errors.js';

const commands: Record<string, { run: (args: string[]) => Promise<void>; help: string }> = {
  demo: { run: demo, help: 'run the kernels on this machine\'s WebGPU adapter and check them against the CPU' },
  eval: { run: evalCommand, help: 'score a model on a GLUE task or SQuAD dev set' },
  predict: { run: predictCommand, help: 'write per-example logits or answers as JSON lines' },
  prune: { run: pruneCommand, help: 'prune a model to a MACs budget and write the smaller model (Fisher, search, rearrangement, tuning, export)' },
};

function usage(): string {
  return ['usage: wgprune <command> [options]', '', 'commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.help}`),
    '', 'Run `wgprune <command> --help` for its options.'].join('\n');
}

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log(usage());
} else if (!commands[name]) {
  console.error(`wgprune: unknown command "${name}"\n\n${usage()}`);
  process.exitCode = 2;
} else {
  try {
    await commands[name].run(args);
  } catch (e) {
    // Our own errors carry a message meant for the user; anything else is a bug: show the stack.
    console.error(e instanceof WgpruneError ? `wgprune ${name}: ${e.message}` : e);
    process.exitCode = 1;
  }
}
