// The gRPC face of consumer groups and transactions, with their access checks: Read on a group to
// take part in it, Describe to look at it, Delete to delete it; Write on a transactional id to use it
// (and Write or Read on the topics and group it touches), Describe to look at it; as Kafka checks them.
// Listing leaves out what the caller may not describe. The Kafka listener checks the same rules in its
// own handlers, where it decodes the classic protocol's requests.

import { type BrokerHandlers, type CallerOf, unary } from "@brook/protocol";
import { CLUSTER_RESOURCE_NAME } from "@brook/security";
import type { AccessControl } from "./access.js";
import type { GroupHandlers } from "./groups/handlers.js";
import type { TransactionHandlers } from "./transactions/handlers.js";

export interface GuardedHandlerOptions {
  readonly groups: GroupHandlers;
  readonly transactions: TransactionHandlers;
  readonly access: AccessControl;
  readonly callerOf: CallerOf;
}

type GroupMethods =
  | "FindCoordinator"
  | "ConsumerGroupHeartbeat"
  | "OffsetCommit"
  | "OffsetFetch"
  | "ListGroups"
  | "DescribeGroups"
  | "DeleteGroups";
type TransactionMethods =
  | "TxnOffsetCommit"
  | "AddPartitionsToTxn"
  | "AddOffsetsToTxn"
  | "EndTxn"
  | "ListTransactions"
  | "DescribeTransactions";

export function groupAndTransactionHandlers(
  options: GuardedHandlerOptions,
): Pick<BrokerHandlers, GroupMethods | TransactionMethods> {
  return { ...groupHandlers(options), ...transactionHandlers(options) };
}

function groupHandlers({
  groups,
  access,
  callerOf,
}: GuardedHandlerOptions): Pick<BrokerHandlers, GroupMethods> {
  const need = access.require.bind(access);
  return {
    FindCoordinator: unary((request, call) => {
      const caller = callerOf(call);
      if (request.transactionalId) need(caller, "describe", "transactionalId", request.transactionalId);
      else need(caller, "describe", "group", request.groupId);
      return groups.findCoordinator(request);
    }),
    ConsumerGroupHeartbeat: unary((request, call) => {
      need(callerOf(call), "read", "group", request.groupId);
      return groups.heartbeat(request, call.getPeer());
    }),
    OffsetCommit: unary((request, call) => {
      const caller = callerOf(call);
      need(caller, "read", "group", request.groupId);
      for (const { topic } of request.topics) need(caller, "read", "topic", topic);
      return groups.offsetCommit(request);
    }),
    OffsetFetch: unary((request, call) => {
      need(callerOf(call), "describe", "group", request.groupId);
      return groups.offsetFetch(request);
    }),
    ListGroups: unary(async (_request, call) => {
      const caller = callerOf(call);
      const listed = await groups.listGroups();
      if (access.allowed(caller, "describe", "cluster", CLUSTER_RESOURCE_NAME)) return listed;
      const visible = (listed.groups ?? []).filter(({ groupId }) =>
        access.allowed(caller, "describe", "group", groupId ?? ""),
      );
      return { ...listed, groups: visible };
    }),
    DescribeGroups: unary((request, call) => {
      const caller = callerOf(call);
      for (const groupId of request.groupIds) need(caller, "describe", "group", groupId);
      return groups.describeGroups(request);
    }),
    DeleteGroups: unary((request, call) => {
      const caller = callerOf(call);
      for (const groupId of request.groupIds) need(caller, "delete", "group", groupId);
      return groups.deleteGroups(request);
    }),
  };
}

function transactionHandlers({
  groups,
  transactions,
  access,
  callerOf,
}: GuardedHandlerOptions): Pick<BrokerHandlers, TransactionMethods> {
  const need = access.require.bind(access);
  return {
    TxnOffsetCommit: unary((request, call) => {
      const caller = callerOf(call);
      need(caller, "write", "transactionalId", request.transactionalId);
      need(caller, "read", "group", request.groupId);
      for (const { topic } of request.topics) need(caller, "read", "topic", topic);
      return groups.txnOffsetCommit(request);
    }),
    AddPartitionsToTxn: unary((request, call) => {
      const caller = callerOf(call);
      need(caller, "write", "transactionalId", request.transactionalId);
      for (const { topic } of request.topics) need(caller, "write", "topic", topic);
      return transactions.addPartitionsToTxn(request);
    }),
    AddOffsetsToTxn: unary((request, call) => {
      const caller = callerOf(call);
      need(caller, "write", "transactionalId", request.transactionalId);
      need(caller, "read", "group", request.groupId);
      return transactions.addOffsetsToTxn(request);
    }),
    EndTxn: unary((request, call) => {
      need(callerOf(call), "write", "transactionalId", request.transactionalId);
      return transactions.endTxn(request);
    }),
    ListTransactions: unary(async (request, call) => {
      const caller = callerOf(call);
      const listed = await transactions.listTransactions(request);
      const visible = (listed.transactions ?? []).filter(({ transactionalId }) =>
        access.allowed(caller, "describe", "transactionalId", transactionalId ?? ""),
      );
      return { ...listed, transactions: visible };
    }),
    DescribeTransactions: unary((request, call) => {
      const caller = callerOf(call);
      for (const id of request.transactionalIds) need(caller, "describe", "transactionalId", id);
      return transactions.describeTransactions(request);
    }),
  };
}
