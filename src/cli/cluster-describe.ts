// `eddy cluster describe`: brokers, controller and cluster id.
import { Admin } from '../client/index.js';
import type { OptionSpecs, ParsedArgs } from './args.js';
import { clientOptions, print, printJson, table, UsageError } from './output.js';

export const CLUSTER_OPTIONS: OptionSpecs = {};

export const CLUSTER_HELP = `Usage: eddy cluster describe [--bootstrap-server host:port] [--json]
       eddy cluster up [--nodes 3] ...   (see eddy --help)

Examples:
  eddy cluster describe
  eddy cluster describe --bootstrap-server 127.0.0.1:19092 --json
`;

export async function clusterDescribeCommand(sub: string | undefined, args: ParsedArgs): Promise<void> {
  if (sub !== 'describe') throw new UsageError(`unknown cluster command ${sub ?? '(none)'}: use describe or up`);
  const admin = new Admin(clientOptions(args));
  try {
    const d = await admin.describeCluster();
    const brokers = [...d.brokers].sort((a, b) => a.nodeId - b.nodeId);
    if (args.bool('json')) {
      printJson({ clusterId: d.clusterId, controllerId: d.controllerId, brokers });
      return;
    }
    print(`Cluster ID: ${d.clusterId ?? '-'}\nController: ${d.controllerId >= 0 ? d.controllerId : '-'}`);
    print(
      table(
        ['id', 'host', 'port', 'rack', 'controller'],
        brokers.map((b) => [b.nodeId, b.host, b.port, b.rack, b.nodeId === d.controllerId ? 'yes' : '']),
      ),
    );
  } finally {
    await admin.close();
  }
}
