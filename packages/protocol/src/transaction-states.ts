// The states of a transactional id at its coordinator, as ListTransactions and DescribeTransactions name
// them on the wire (ListedTransaction.state, TransactionDescription.state in proto/broker.proto are
// strings): one list for the broker that sends them and the SDK and CLI that filter and show them.

export const transactionStates = [
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
] as const;

export type TransactionStateName = (typeof transactionStates)[number];
