// One raw Kafka request over a plain socket, for tests that must send what no Kafka client would.
import { Socket } from "node:net";
import { ApiKey, decodeResponse, encodeRequest, FrameSplitter } from "@brook/kafka";

/** A Fetch v12 claiming to be replica `replicaId`; resolves with the answer's top-level error code. */
export async function kafkaFetchAsReplica(port: number, topic: string, replicaId: number): Promise<number> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(port, "127.0.0.1", () => resolve());
  });
  try {
    const splitter = new FrameSplitter();
    const frame = new Promise<Buffer>((resolve) =>
      socket.on("data", (chunk: Buffer) => {
        const [first] = splitter.push(chunk);
        if (first !== undefined) resolve(first);
      }),
    );
    const request = {
      clusterId: null,
      replicaId,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 1_000_000n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: "",
    };
    socket.write(Buffer.concat(encodeRequest(ApiKey.Fetch, 12, 1, "attacker", request)));
    const { body } = decodeResponse(ApiKey.Fetch, 12, await frame);
    return body.errorCode;
  } finally {
    socket.destroy();
  }
}
