// `brook cluster status`: controllers, brokers and partition health; `brook cluster secret`: a new cluster secret.

import { newClusterSecret } from "@brook/security";
import { Command } from "@commander-js/extra-typings";
import { withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";

export function clusterCommand(): Command {
  const cluster = new Command("cluster").description("inspect the cluster");
  cluster
    .command("secret")
    .description(
      "print a new random cluster secret (32 bytes, base64url) for --cluster-secret-file: every node of a cluster needs the same one (docs/security.md)",
    )
    .action(() => {
      process.stdout.write(`${newClusterSecret()}\n`);
    });
  cluster
    .command("status")
    .description(
      "controllers (who leads, term, commit index, lag of each), brokers (gRPC and Kafka addresses, alive/fenced), offline and under-replicated partitions",
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
            matchIndex: c.matchIndex,
            lag: c.lag,
          })),
          brokers: status.brokers.map((b) => ({
            id: b.id,
            host: b.host,
            port: b.port,
            rack: b.rack ?? null,
            state: b.state,
            // The broker's Kafka listener as advertised; null when it has none.
            kafkaHost: b.kafkaHost ?? null,
            kafkaPort: b.kafkaPort ?? null,
          })),
          offlinePartitions: status.offlinePartitions,
          underReplicatedPartitions: status.underReplicatedPartitions,
        };
        if (options.json) {
          printJson(json);
          return;
        }
        process.stdout.write(`cluster ${json.clusterId}\n\ncontrollers\n`);
        // -1 in JSON: that controller did not answer, or the active controller could not be asked.
        const known = (value: number) => (value < 0 ? "unknown" : value);
        printTable(
          ["id", "role", "term", "commit index", "match index", "lag"],
          json.controllers.map((c) => [
            c.id,
            c.leader ? "leader" : "follower",
            known(c.term),
            known(c.commitIndex),
            known(c.matchIndex),
            known(c.lag),
          ]),
        );
        process.stdout.write("\nbrokers\n");
        printTable(
          ["id", "address", "kafka address", "rack", "state"],
          json.brokers.map((b) => [
            b.id,
            `${b.host}:${b.port}`,
            b.kafkaPort === null ? "none" : `${b.kafkaHost}:${b.kafkaPort}`,
            b.rack ?? "",
            b.state,
          ]),
        );
        process.stdout.write(
          `\noffline partitions: ${json.offlinePartitions}\nunder-replicated partitions: ${json.underReplicatedPartitions}\n`,
        );
      });
    });
  return cluster as unknown as Command;
}
