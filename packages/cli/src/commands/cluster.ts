// `brook cluster status`: controllers, brokers and partition health.

import { Command } from "@commander-js/extra-typings";
import { withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";

export function clusterCommand(): Command {
  const cluster = new Command("cluster").description("inspect the cluster");
  cluster
    .command("status")
    .description(
      "controllers (who leads, term), brokers (alive/fenced), offline and under-replicated partitions",
    )
    .option("--json", "print JSON")
    .action(async (options, command) => {
      await withAdmin(command, async (admin) => {
        const status = await admin.describeCluster();
        const json = {
          clusterId: status.clusterId,
          controllers: status.controllers.map((c) => ({
            id: c.id,
            leader: c.leader,
            term: c.term,
            commitIndex: c.commitIndex,
          })),
          brokers: status.brokers.map((b) => ({ id: b.id, host: b.host, port: b.port, state: b.state })),
          offlinePartitions: status.offlinePartitions,
          underReplicatedPartitions: status.underReplicatedPartitions,
        };
        if (options.json) {
          printJson(json);
          return;
        }
        process.stdout.write(`cluster ${json.clusterId}\n\ncontrollers\n`);
        printTable(
          ["id", "role", "term", "commit index"],
          json.controllers.map((c) => [c.id, c.leader ? "leader" : "follower", c.term, c.commitIndex]),
        );
        process.stdout.write("\nbrokers\n");
        printTable(
          ["id", "address", "state"],
          json.brokers.map((b) => [b.id, `${b.host}:${b.port}`, b.state]),
        );
        process.stdout.write(
          `\noffline partitions: ${json.offlinePartitions}\nunder-replicated partitions: ${json.underReplicatedPartitions}\n`,
        );
      });
    });
  return cluster as unknown as Command;
}
