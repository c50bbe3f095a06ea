// The chaos pipeline's processor, as its own process so the test can SIGKILL it mid-transaction: an
// exactly-once consume-transform-produce loop on Brook's SDK. It reads IN (read_committed) in group GROUP,
// writes one record to OUT per input record (value "<partition>:<offset>" of the input), and commits the
// group's offsets in the same transaction. Any error ends the process (exit 1): the test starts a new one,
// which fences this one by its transactional id, aborts what it left open, and resumes from the offsets
// the last committed transaction recorded. Prints one JSON line per committed transaction.
import { Brook, silentLogger } from "@brook/client";

const { BOOTSTRAP, IN, OUT, GROUP, TRANSACTIONAL_ID } = process.env;
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const die = (error) => {
  say({ kind: "error", message: error?.message ?? String(error) });
  process.exit(1);
};

const brook = new Brook({ brokers: BOOTSTRAP.split(","), clientId: "pipeline", logger: silentLogger });
const producer = brook.producer({ transactionalId: TRANSACTIONAL_ID, transactionTimeoutMs: 10_000 });
const consumer = brook.consumer({
  groupId: GROUP,
  // A restart takes the partitions back at once instead of waiting out the killed member's session.
  groupInstanceId: "processor",
  sessionTimeoutMs: 6_000,
  isolationLevel: "read_committed",
  autoCommit: false,
  fromBeginning: true,
  maxWaitMs: 100,
});

try {
  // InitProducerId fences any older instance and aborts what it left open, before the consumer reads
  // the group's offsets: they are then exactly what the last committed transaction recorded.
  await producer.connect();
  await consumer.subscribe({ topic: IN });
  say({ kind: "started", pid: process.pid });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (batch.messages.length === 0) return;
      const txn = await producer.transaction();
      await txn.send({
        topic: OUT,
        messages: batch.messages.map((m) => ({ key: m.key, value: `${batch.partition}:${m.offset}` })),
      });
      const next = batch.lastOffset() + 1;
      await txn.sendOffsets({
        consumerGroupId: GROUP,
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
      });
      await txn.commit();
      say({ kind: "committed", partition: batch.partition, next, records: batch.messages.length });
    },
  });
} catch (error) {
  die(error);
}
