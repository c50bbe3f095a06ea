// The node's configuration: messages that name the key, its source and its value; unknown
// keys refused; the controller quorum's voters (Kafka's controller.quorum.voters format, a
// one-voter default, this node's own place in it); broker membership settings; the Kafka
// listener (on by default, its advertised address, a port of its own) and topic creation
// defaults; and docs/configuration.md matching the schema it is generated from.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrookError } from "@brook/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { configurationDocPath, renderConfigurationDoc } from "../../../scripts/gen-config-docs.mjs";
import { kafkaAdvertisedEndpoint, resolveConfig } from "../src/config.js";

const threeVoters = "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293";

/** The detail of the INVALID_CONFIG error `run` throws. */
function invalid(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BrookError);
    expect((error as BrookError).code).toBe("INVALID_CONFIG");
    // The message after its "INVALID_CONFIG: " prefix.
    return (error as Error).message.replace(/^INVALID_CONFIG: /, "");
  }
  throw new Error("expected INVALID_CONFIG");
}

const configDir = mkdtempSync(join(tmpdir(), "brook-config-"));
afterAll(() => rmSync(configDir, { recursive: true, force: true }));
let configFiles = 0;

function configFile(contents: unknown): string {
  const path = join(configDir, `node-${++configFiles}.json`);
  writeFileSync(path, typeof contents === "string" ? contents : JSON.stringify(contents));
  return path;
}

describe("a bad value is refused naming the key as given, its source and the value", () => {
  it("from a flag", () => {
    expect(invalid(() => resolveConfig({ nodeId: "two" }, {}))).toBe(
      '--node-id="two" from the command line is not valid: expected a whole number from 1',
    );
  });

  it("from the environment", () => {
    expect(invalid(() => resolveConfig({}, { BROOK_BROKER_PORT: "70000" }))).toBe(
      'BROOK_BROKER_PORT="70000" from the environment is not valid: expected a port from 0 to 65535',
    );
  });

  it("from the config file, a JSON number shown as one", () => {
    const path = configFile({ httpPort: -1 });
    expect(invalid(() => resolveConfig({}, {}, path))).toBe(
      `httpPort=-1 from config file ${path} is not valid: expected a port from 0 to 65535`,
    );
  });

  it("the flag wins over the environment, which wins over the file", () => {
    const path = configFile({ nodeId: 3, rack: "file", logLevel: "debug" });
    const config = resolveConfig({ nodeId: "1" }, { BROOK_NODE_ID: "2", BROOK_RACK: "env" }, path);
    expect(config).toMatchObject({ nodeId: 1, rack: "env", logLevel: "debug" });
  });

  it("a rule across keys names each of them with its source, defaults included", () => {
    expect(invalid(() => resolveConfig({ brokerSessionTimeoutMs: "200" }, {}))).toBe(
      '--broker-session-timeout-ms="200" from the command line must exceed BROOK_BROKER_HEARTBEAT_INTERVAL_MS=250 by default, several times over, so that one late heartbeat does not fence a broker',
    );
    expect(invalid(() => resolveConfig({}, { BROOK_ROLES: "broker" }))).toContain(
      'BROOK_ROLES="broker" from the environment: this version runs broker and controller together',
    );
  });
});

describe("unknown keys are refused, not ignored", () => {
  it("in the config file, with a suggestion for a misspelt key", () => {
    const path = configFile({ nodeID: 2, brokerPort: 9092, colour: "blue" });
    const message = invalid(() => resolveConfig({}, {}, path));
    expect(message).toContain(
      `config file ${path} has unknown key "nodeID" (did you mean nodeId?), "colour"`,
    );
    expect(message).toContain("its keys are nodeId, clusterId, roles,");
  });

  it("a config file that is not a JSON object, or not JSON at all", () => {
    expect(invalid(() => resolveConfig({}, {}, configFile([1, 2])))).toContain("must hold a JSON object");
    expect(invalid(() => resolveConfig({}, {}, configFile("nodeId: 2")))).toContain(
      "cannot read config file",
    );
  });

  it("in the environment: a BROOK_* variable that is no setting, with a suggestion", () => {
    const message = invalid(() => resolveConfig({}, { BROOK_NODEID: "2", BROOK_LOG_LEVLE: "debug" }));
    expect(message).toContain(
      'unknown environment variable "BROOK_LOG_LEVLE" (did you mean BROOK_LOG_LEVEL?), "BROOK_NODEID" (did you mean BROOK_NODE_ID?)',
    );
    expect(message).toContain("node settings are BROOK_NODE_ID, BROOK_CLUSTER_ID,");
  });

  it("but other tools' BROOK_* variables and everything outside BROOK_* pass", () => {
    const env = {
      BROOK_BOOTSTRAP: "127.0.0.1:9092",
      BROOK_HOME: "/src/brook",
      BROOK_DRILL_BROKER_ID: "2",
      BROOK_VERSION: "dev",
      BROOK_PUBLISH_ADDRESS: "0.0.0.0",
      PATH: "/usr/bin",
      brook_node_id: "7",
    };
    expect(resolveConfig({}, env).nodeId).toBe(1);
  });
});

describe("docs/configuration.md", () => {
  it("is what scripts/gen-config-docs.mjs renders from the schemas (run `make docs` after changing them)", () => {
    const committed = readFileSync(configurationDocPath, "utf8");
    expect(
      committed === renderConfigurationDoc(),
      "docs/configuration.md is out of date: run `make docs`",
    ).toBe(true);
  });
});

describe("controller quorum voters", () => {
  it("default to this node alone at its advertised host and controller port (a one-voter quorum)", () => {
    const config = resolveConfig({}, { BROOK_NODE_ID: "4", BROOK_CONTROLLER_PORT: "9500" });
    expect([...config.controllerQuorumVoters]).toEqual([[4, "127.0.0.1:9500"]]);
  });

  it("read Kafka's id@host:port list from the environment and the flag, the flag winning", () => {
    const env = {
      BROOK_NODE_ID: "2",
      BROOK_CONTROLLER_PORT: "9193",
      BROOK_CONTROLLER_QUORUM_VOTERS: threeVoters,
      BROOK_CLUSTER_SECRET_FILE: "/etc/brook/cluster.secret",
    };
    expect([...resolveConfig({}, env).controllerQuorumVoters]).toEqual([
      [1, "127.0.0.1:9093"],
      [2, "127.0.0.1:9193"],
      [3, "127.0.0.1:9293"],
    ]);
    const flag = resolveConfig({ controllerQuorumVoters: "2@h:9193" }, env);
    expect([...flag.controllerQuorumVoters]).toEqual([[2, "h:9193"]]);
  });

  it("need a cluster secret when there is more than one voter", () => {
    const env = {
      BROOK_NODE_ID: "2",
      BROOK_CONTROLLER_PORT: "9193",
      BROOK_CONTROLLER_QUORUM_VOTERS: threeVoters,
    };
    expect(invalid(() => resolveConfig({}, env))).toContain(
      "a cluster of 3 nodes needs a shared cluster secret, so that its nodes can prove who they are to each other",
    );
  });

  it("refuse a malformed list or a repeated id, naming the source", () => {
    for (const bad of ["1@127.0.0.1", "x@h:1", "1@h:1,1@h:2", "1@h:70000", ""]) {
      const message = invalid(() => resolveConfig({}, { BROOK_CONTROLLER_QUORUM_VOTERS: bad }));
      expect(message).toContain("BROOK_CONTROLLER_QUORUM_VOTERS=");
    }
  });

  it("must include this node", () => {
    const message = invalid(() =>
      resolveConfig({}, { BROOK_NODE_ID: "4", BROOK_CONTROLLER_QUORUM_VOTERS: threeVoters }),
    );
    expect(message).toBe(
      `BROOK_CONTROLLER_QUORUM_VOTERS="${threeVoters}" from the environment does not include this node (BROOK_NODE_ID="4" from the environment); every node runs a controller, so add 4@127.0.0.1:9093`,
    );
  });

  it("must give this node its own controller port", () => {
    const message = invalid(() =>
      resolveConfig({}, { BROOK_NODE_ID: "2", BROOK_CONTROLLER_QUORUM_VOTERS: threeVoters }),
    );
    expect(message).toContain(
      "gives node 2 port 9193, but its controller port is 9093 (BROOK_CONTROLLER_PORT=9093 by default)",
    );
  });
});

describe("broker membership settings", () => {
  it("default to 250 ms heartbeats and a 1.5 s session, with no rack", () => {
    const config = resolveConfig({}, {});
    expect(config.brokerHeartbeatIntervalMs).toBe(250);
    expect(config.brokerSessionTimeoutMs).toBe(1_500);
    expect(config.rack).toBeUndefined();
  });

  it("read the rack and timings from the environment", () => {
    const config = resolveConfig(
      {},
      {
        BROOK_RACK: "zone-a",
        BROOK_BROKER_HEARTBEAT_INTERVAL_MS: "500",
        BROOK_BROKER_SESSION_TIMEOUT_MS: "3000",
      },
    );
    expect(config).toMatchObject({
      rack: "zone-a",
      brokerHeartbeatIntervalMs: 500,
      brokerSessionTimeoutMs: 3_000,
    });
  });

  it("refuse a session no longer than the heartbeat interval, a zero interval and a bad rack", () => {
    expect(
      invalid(() =>
        resolveConfig(
          {},
          { BROOK_BROKER_HEARTBEAT_INTERVAL_MS: "1000", BROOK_BROKER_SESSION_TIMEOUT_MS: "1000" },
        ),
      ),
    ).toContain(
      'BROOK_BROKER_SESSION_TIMEOUT_MS="1000" from the environment must exceed BROOK_BROKER_HEARTBEAT_INTERVAL_MS="1000" from the environment',
    );
    expect(invalid(() => resolveConfig({}, { BROOK_BROKER_HEARTBEAT_INTERVAL_MS: "0" }))).toContain(
      "BROOK_BROKER_HEARTBEAT_INTERVAL_MS=",
    );
    expect(invalid(() => resolveConfig({}, { BROOK_RACK: "a b" }))).toContain("BROOK_RACK=");
  });
});

describe("the Kafka listener", () => {
  it("is on by default on 9094, advertised at the advertised host and the port it binds", () => {
    const config = resolveConfig({}, { BROOK_ADVERTISED_HOST: "node-1" });
    expect(config).toMatchObject({ kafkaEnabled: true, kafkaPort: 9094, kafkaAdvertisedHost: "node-1" });
    expect(config.kafkaAdvertisedPort).toBeUndefined();
    expect(kafkaAdvertisedEndpoint(config, 9094)).toEqual({ host: "node-1", port: 9094 });
    // A free port (0) registers the port the listener got; before it is known, nothing.
    const free = resolveConfig({ kafkaPort: "0" }, {});
    expect(kafkaAdvertisedEndpoint(free, 41234)).toEqual({ host: "127.0.0.1", port: 41234 });
    expect(kafkaAdvertisedEndpoint(free, 0)).toBeUndefined();
  });

  it("reads its port and advertised address from flags, the environment and the config file", () => {
    const path = configFile({ kafkaAdvertisedHost: "kafka.example", kafkaAdvertisedPort: 19094 });
    const config = resolveConfig({ kafkaPort: "9194" }, { BROOK_KAFKA_PORT: "9294" }, path);
    expect(config).toMatchObject({
      kafkaPort: 9194,
      kafkaAdvertisedHost: "kafka.example",
      kafkaAdvertisedPort: 19094,
    });
    // The advertised port wins over the bound one: a NAT or a port mapping in front of the node.
    expect(kafkaAdvertisedEndpoint(config, 9194)).toEqual({ host: "kafka.example", port: 19094 });
    expect(resolveConfig({}, { BROOK_KAFKA_ADVERTISED_HOST: "k" }).kafkaAdvertisedHost).toBe("k");
  });

  it("is turned off with BROOK_KAFKA_ENABLED=false (or kafkaEnabled: false); then nothing is registered", () => {
    const off = resolveConfig({}, { BROOK_KAFKA_ENABLED: "false" });
    expect(off.kafkaEnabled).toBe(false);
    expect(kafkaAdvertisedEndpoint(off, 9094)).toBeUndefined();
    expect(resolveConfig({}, {}, configFile({ kafkaEnabled: false })).kafkaEnabled).toBe(false);
    expect(resolveConfig({ kafkaEnabled: "TRUE" }, {}).kafkaEnabled).toBe(true);
  });

  it("refuses bad values, naming the key, its source and the value", () => {
    expect(invalid(() => resolveConfig({}, { BROOK_KAFKA_PORT: "-1" }))).toBe(
      'BROOK_KAFKA_PORT="-1" from the environment is not valid: expected a port from 0 to 65535',
    );
    expect(invalid(() => resolveConfig({}, { BROOK_KAFKA_ENABLED: "no" }))).toBe(
      'BROOK_KAFKA_ENABLED="no" from the environment is not valid: expected true or false',
    );
    expect(invalid(() => resolveConfig({ kafkaAdvertisedPort: "0" }, {}))).toBe(
      '--kafka-advertised-port="0" from the command line is not valid: expected a port from 1 to 65535',
    );
    expect(invalid(() => resolveConfig({}, { BROOK_KAFKA_ADVERTISED_HOST: " " }))).toContain(
      "BROOK_KAFKA_ADVERTISED_HOST=",
    );
  });

  it("needs a port of its own, unless it is off", () => {
    expect(invalid(() => resolveConfig({}, { BROOK_KAFKA_PORT: "9092" }))).toBe(
      'BROOK_KAFKA_PORT="9092" from the environment is also BROOK_BROKER_PORT=9092 by default: give each listener a port of its own',
    );
    expect(invalid(() => resolveConfig({ httpPort: "9093" }, {}))).toBe(
      '--http-port="9093" from the command line is also BROOK_CONTROLLER_PORT=9093 by default: give each listener a port of its own',
    );
    expect(resolveConfig({}, { BROOK_KAFKA_PORT: "9092", BROOK_KAFKA_ENABLED: "false" }).kafkaPort).toBe(
      9092,
    );
    // Free ports (0) never clash.
    expect(
      resolveConfig({}, { BROOK_BROKER_PORT: "0", BROOK_KAFKA_PORT: "0", BROOK_HTTP_PORT: "0" }),
    ).toBeDefined();
  });
});

describe("topic creation defaults", () => {
  it("auto-create topics on, one partition, and a replication factor left to the cluster (min(3, brokers))", () => {
    const config = resolveConfig({}, {});
    expect(config).toMatchObject({ autoCreateTopics: true, numPartitions: 1 });
    expect(config.defaultReplicationFactor).toBeUndefined();
  });

  it("read Kafka's auto.create.topics.enable, num.partitions and default.replication.factor", () => {
    const config = resolveConfig(
      { numPartitions: "6" },
      { BROOK_AUTO_CREATE_TOPICS: "false", BROOK_DEFAULT_REPLICATION_FACTOR: "2" },
    );
    expect(config).toMatchObject({ autoCreateTopics: false, numPartitions: 6, defaultReplicationFactor: 2 });
  });

  it("refuse counts out of range, naming the source", () => {
    expect(invalid(() => resolveConfig({}, { BROOK_NUM_PARTITIONS: "0" }))).toBe(
      'BROOK_NUM_PARTITIONS="0" from the environment is not valid: expected a whole number from 1 to 10000',
    );
    expect(invalid(() => resolveConfig({}, {}, configFile({ defaultReplicationFactor: -1 })))).toContain(
      "defaultReplicationFactor=-1 from config file",
    );
    expect(invalid(() => resolveConfig({}, { BROOK_AUTO_CREATE_TOPICS: "yes" }))).toContain(
      'BROOK_AUTO_CREATE_TOPICS="yes" from the environment is not valid: expected true or false',
    );
  });
});

describe("transaction settings", () => {
  it("default to Kafka's: a 15 min timeout cap and 12 partitions of __transaction_state", () => {
    expect(resolveConfig({}, {})).toMatchObject({
      transactionMaxTimeoutMs: 900_000,
      transactionStateTopicPartitions: 12,
    });
  });

  it("read the environment, and refuse a cap below the default timeout (60 s)", () => {
    const config = resolveConfig(
      {},
      { BROOK_TRANSACTION_MAX_TIMEOUT_MS: "120000", BROOK_TRANSACTION_STATE_TOPIC_PARTITIONS: "3" },
    );
    expect(config).toMatchObject({ transactionMaxTimeoutMs: 120_000, transactionStateTopicPartitions: 3 });
    expect(invalid(() => resolveConfig({}, { BROOK_TRANSACTION_MAX_TIMEOUT_MS: "1000" }))).toContain(
      "expected milliseconds from 60000",
    );
  });
});

describe("the metadata dir (Kafka's metadata.log.dir)", () => {
  it("defaults to __cluster_metadata inside the data dir, and may live apart from it", () => {
    expect(resolveConfig({ dataDir: "/data" }, {}).metadataDir).toBe("/data/__cluster_metadata");
    expect(resolveConfig({ dataDir: "/data" }, { BROOK_METADATA_DIR: "/meta" }).metadataDir).toBe("/meta");
  });
});
