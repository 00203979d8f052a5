// The `eddy` command line. Client commands (topics, produce, consume, groups, configs,
// cluster describe, perf) use Eddy's own client only and work against any Kafka-compatible
// broker; `broker start` and `cluster up` load the broker lazily.
import { type OptionSpecs, optionsHelp, type ParsedArgs, parseArgs } from './args.js';
import { CLUSTER_HELP, CLUSTER_OPTIONS, clusterDescribeCommand } from './cluster-describe.js';
import { CONFIGS_HELP, CONFIGS_OPTIONS, configsCommand } from './configs.js';
import { CONSUME_HELP, CONSUME_OPTIONS, consumeCommand } from './consume.js';
import { GROUPS_HELP, GROUPS_OPTIONS, groupsCommand } from './groups.js';
import { bootstrapOf, exitCodeFor, explainError, UsageError } from './output.js';
import { PERF_HELP, PERF_OPTIONS, perfCommand } from './perf.js';
import { PRODUCE_HELP, PRODUCE_OPTIONS, produceCommand } from './produce.js';
import { TOPICS_HELP, TOPICS_OPTIONS, topicsCommand } from './topics.js';

const HELP = `eddy — a Kafka-compatible event streaming platform

Usage: eddy <command> [subcommand] [options]      (eddy <command> --help for details)

Client commands (any Kafka-compatible broker; --bootstrap-server host:port, default 127.0.0.1:9092;
--json for machine-readable output):
  topics create|list|describe|alter|delete   manage topics
  produce --topic T                          send lines from stdin or --file
  consume --topic T                          print records
  groups list|describe|reset-offsets|delete  consumer groups, lag and offsets
  configs describe|alter                     topic and broker settings
  cluster describe                           brokers, controller and cluster id
  perf produce|consume|latency               throughput and latency tests

Server commands:
  broker start [--config server.properties] [--override key=value ...]
                 Run a node in the foreground. Without options: a single-node broker and
                 controller on 127.0.0.1:9092, data in ./eddy-data. With
                 controller.quorum.voters it joins a KRaft quorum (see README).
  cluster up [--nodes 3] [--base-port 19092] [--controller-base-port 29092] [--dir ./eddy-cluster] [--override key=value ...]
                 Start a local cluster of combined broker+controller nodes on loopback,
                 one process per node; Ctrl-C stops them all.

Examples:
  eddy broker start
  eddy broker start --override listeners=PLAINTEXT://0.0.0.0:9093 --override log.dirs=/var/lib/eddy
  eddy cluster up --nodes 3
  eddy topics create --topic orders --partitions 3
  printf 'k1:hello\\nk2:world\\n' | eddy produce --topic orders --parse-key --key-separator :
  eddy consume --topic orders --from-beginning --max-messages 2 --format key-value
  eddy groups describe --group billing
  eddy perf produce --topic bench --num-records 100000 --record-size 100
`;

interface ClientCommand {
  options: OptionSpecs;
  help: string;
  /** Whether the command takes a subcommand (topics list) or not (produce). */
  subcommands: boolean;
  run(sub: string | undefined, args: ParsedArgs): Promise<void>;
}

const COMMANDS: Record<string, ClientCommand> = {
  topics: { options: TOPICS_OPTIONS, help: TOPICS_HELP, subcommands: true, run: topicsCommand },
  produce: { options: PRODUCE_OPTIONS, help: PRODUCE_HELP, subcommands: false, run: (_s, a) => produceCommand(a) },
  consume: { options: CONSUME_OPTIONS, help: CONSUME_HELP, subcommands: false, run: (_s, a) => consumeCommand(a) },
  groups: { options: GROUPS_OPTIONS, help: GROUPS_HELP, subcommands: true, run: groupsCommand },
  configs: { options: CONFIGS_OPTIONS, help: CONFIGS_HELP, subcommands: true, run: configsCommand },
  cluster: { options: CLUSTER_OPTIONS, help: CLUSTER_HELP, subcommands: true, run: clusterDescribeCommand },
  perf: { options: PERF_OPTIONS, help: PERF_HELP, subcommands: true, run: perfCommand },
};

export async function main(argv: string[]): Promise<void> {
  const [cmd, sub, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (cmd === 'broker' && (sub === 'start' || sub === undefined)) {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(HELP);
      return;
    }
    const { brokerStart } = await import('./node-commands.js');
    await brokerStart(rest);
    return;
  }
  if (cmd === 'cluster' && sub === 'up') {
    const { clusterUpCommand } = await import('./node-commands.js');
    await clusterUpCommand(rest, HELP);
    return;
  }
  const command = COMMANDS[cmd];
  if (command === undefined) {
    process.stderr.write(`eddy: unknown command ${argv.join(' ')}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  // A reader that went away (`eddy consume ... | head`) ends the output, not the process with a trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
  const hasSub = command.subcommands && sub !== undefined && !sub.startsWith('-');
  const optionArgs = hasSub ? rest : argv.slice(1);
  const helpText = `${command.help}\nOptions:\n${optionsHelp(command.options)}\n`;
  let bootstrap = '127.0.0.1:9092';
  try {
    const args = parseArgs(optionArgs, command.options);
    bootstrap = bootstrapOf(args);
    if (args.bool('help') || (command.subcommands && !hasSub)) {
      process.stdout.write(helpText);
      return;
    }
    if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
    await command.run(hasSub ? sub : undefined, args);
  } catch (err) {
    process.stderr.write(`eddy ${cmd}${hasSub ? ` ${sub}` : ''}: ${explainError(err, bootstrap)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
