import { Command, CommanderError, Option } from 'commander';
import { cancelCommand } from './commands/cancel';
import { decideCommand } from './commands/decide';
import { runCommand, type RunFlags } from './commands/run';
import { runsCommand, type RunsFlags } from './commands/runs';
import { watchCommand, type WatchFlags } from './commands/watch';
import { describeError, exitCodes } from './exit-codes';
import { readSettings, type GlobalFlags } from './settings';

// durable-agents: the API from a terminal (README, CLI). Arguments are commander's; every call
// goes through the typed client (src/client). One file per command under commands/.

const program = new Command('durable-agents')
  .description('Start, follow and steer durable agent runs.\nEnvironment: DURABLE_AGENTS_URL (default http://localhost:3000), DURABLE_AGENTS_API_KEY (or API_KEY).')
  .addOption(new Option('--url <url>', 'the API').env('DURABLE_AGENTS_URL'))
  .option('--json', 'machine-readable output: events as NDJSON, one JSON object per line')
  .showHelpAfterError('(add --help for the commands and options)')
  .exitOverride();

const settings = () => readSettings(program.opts<GlobalFlags>());
let exitCode: number = exitCodes.ok;
const act = (command: () => Promise<number>) => async () => {
  exitCode = await command();
};

program
  .command('run')
  .description('start a run and follow it: the answer as it streams, tool calls as progress bars; Ctrl-C detaches')
  .argument('<task>', 'what the agent should do')
  .option('--model <model>', 'the model (provider:name or a name)')
  .option('--tools <names>', 'comma-separated tools the model may call (default: all)')
  .option('--max-steps <n>', 'at most this many model steps')
  .option('--max-tokens <n>', "a budget for the run's tokens")
  .option('--system <prompt>', 'a system prompt')
  .action((task: string, flags: RunFlags) => act(() => runCommand(task, flags, settings()))());

program
  .command('watch')
  .description('follow a run, running or ended (from its start unless told otherwise); Ctrl-C detaches')
  .argument('<runId>')
  .option('--from-latest', 'only what happens from now on')
  .option('--after <eventId>', 'only what comes after this event id (the one Ctrl-C printed)')
  .action((runId: string, flags: WatchFlags) => act(() => watchCommand(runId, flags, settings()))());

program
  .command('runs')
  .description('list your runs, newest first')
  .option('--status <status>', 'running, completed, failed or cancelled')
  .option('--limit <n>', 'how many (default 20)')
  .action((flags: RunsFlags) => act(() => runsCommand(flags, settings()))());

for (const [name, approve] of [['approve', true], ['deny', false]] as const) {
  program
    .command(name)
    .description(`${name} a tool call that waits for a decision`)
    .argument('<runId>')
    .argument('<callId>')
    .option('--reason <text>', 'why (the model reads it)')
    .action((runId: string, callId: string, flags: { reason?: string }) => act(() => decideCommand(approve, runId, callId, flags, settings()))());
}

program
  .command('cancel')
  .description('cancel a run')
  .argument('<runId>')
  .action((runId: string) => act(() => cancelCommand(runId, settings()))());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and --version end with 0; every other parse error is a usage error.
    exitCode = error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  } else {
    const { message, exitCode: code } = describeError(error, settings().url);
    process.stderr.write(`${message}\n`);
    exitCode = code;
  }
}
process.exitCode = exitCode;
// Nothing is left to wait for (a stream aborted by Ctrl-C may hold a socket for a moment); what was
// written to a pipe goes out first.
process.stdout.write('', () => process.stderr.write('', () => process.exit(exitCode)));
