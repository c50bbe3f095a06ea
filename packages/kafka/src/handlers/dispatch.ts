// Routes each decoded Kafka request to its handler and encodes the answer in the request's version.
// The switch covers every api the codec describes: a described api without a handler does not compile.

import { encodeResponse, type KafkaRequest } from "../codec/messages.js";
import { ApiKey } from "../generated/messages.js";
import type { Answer, Dispatch } from "../listener/connection.js";
import { createAcls, deleteAcls, describeAcls } from "./acls.js";
import { apiVersions } from "./api-versions.js";
import { describeCluster } from "./cluster.js";
import { describeConfigs } from "./configs.js";
import type { ListenerContext, RequestContext } from "./context.js";
import { fetch } from "./fetch.js";
import { findCoordinator } from "./find-coordinator.js";
import * as groups from "./groups.js";
import { metadata } from "./metadata.js";
import { listOffsets, offsetForLeaderEpoch } from "./offsets.js";
import { produce } from "./produce.js";
import { initProducerId } from "./producer-ids.js";
import { saslAuthenticateRefused, saslHandshakeRefused } from "./sasl.js";
import { alterUserScramCredentials, describeUserScramCredentials } from "./scram-users.js";
import { createPartitions, createTopics, deleteTopics } from "./topics.js";
import * as transactions from "./transactions.js";

const API_NAMES = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]));

export function dispatcher(listener: ListenerContext): Dispatch {
  return async (request, connection) => {
    const ctx: RequestContext = {
      ...listener,
      apiVersion: request.apiVersion,
      clientId: request.clientId,
      clientHost: connection.clientHost,
      caller: connection.caller,
      mute: connection.mute,
      signal: connection.signal,
    };
    const started = process.hrtime.bigint();
    let failed = true;
    try {
      const answer = await answerOf(request, ctx, connection.close);
      failed = false;
      return answer;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      listener.broker.observer.requestDone(`kafka.${API_NAMES.get(request.apiKey)}`, seconds, failed);
    }
  };
}

async function answerOf(request: KafkaRequest, ctx: RequestContext, close: () => void): Promise<Answer> {
  const { apiVersion: version, correlationId: id } = request;
  switch (request.apiKey) {
    case ApiKey.Produce: {
      const { response, failed } = await produce(request.body, ctx);
      if (request.body.acks !== 0) return encodeResponse(request.apiKey, version, id, response);
      if (failed) close(); // acks=0: Kafka's only way to tell the client
      return undefined;
    }
    case ApiKey.AddPartitionsToTxn:
      return encodeResponse(
        request.apiKey,
        version,
        id,
        await transactions.addPartitionsToTxn(request.body, ctx),
      );
    case ApiKey.AddOffsetsToTxn:
      return encodeResponse(
        request.apiKey,
        version,
        id,
        await transactions.addOffsetsToTxn(request.body, ctx),
      );
    case ApiKey.EndTxn:
      return encodeResponse(request.apiKey, version, id, await transactions.endTxn(request.body, ctx));
    case ApiKey.TxnOffsetCommit:
      return encodeResponse(
        request.apiKey,
        version,
        id,
        await transactions.txnOffsetCommit(request.body, ctx),
      );
    case ApiKey.Fetch:
      return encodeResponse(request.apiKey, version, id, await fetch(request.body, ctx));
    case ApiKey.ListOffsets:
      return encodeResponse(request.apiKey, version, id, listOffsets(request.body, ctx));
    case ApiKey.Metadata:
      return encodeResponse(request.apiKey, version, id, await metadata(request.body, ctx));
    case ApiKey.OffsetCommit:
      return encodeResponse(request.apiKey, version, id, await groups.offsetCommit(request.body, ctx));
    case ApiKey.OffsetFetch:
      return encodeResponse(request.apiKey, version, id, await groups.offsetFetch(request.body, ctx));
    case ApiKey.FindCoordinator:
      return encodeResponse(request.apiKey, version, id, await findCoordinator(request.body, ctx));
    case ApiKey.JoinGroup:
      return encodeResponse(request.apiKey, version, id, await groups.joinGroup(request.body, ctx));
    case ApiKey.Heartbeat:
      return encodeResponse(request.apiKey, version, id, await groups.heartbeat(request.body, ctx));
    case ApiKey.LeaveGroup:
      return encodeResponse(request.apiKey, version, id, await groups.leaveGroup(request.body, ctx));
    case ApiKey.SyncGroup:
      return encodeResponse(request.apiKey, version, id, await groups.syncGroup(request.body, ctx));
    case ApiKey.DescribeGroups:
      return encodeResponse(request.apiKey, version, id, await groups.describeGroups(request.body, ctx));
    case ApiKey.ListGroups:
      return encodeResponse(request.apiKey, version, id, await groups.listGroups(request.body, ctx));
    case ApiKey.ApiVersions:
      return encodeResponse(request.apiKey, version, id, apiVersions());
    case ApiKey.CreateTopics:
      return encodeResponse(request.apiKey, version, id, await createTopics(request.body, ctx));
    case ApiKey.DeleteTopics:
      return encodeResponse(request.apiKey, version, id, await deleteTopics(request.body, ctx));
    case ApiKey.InitProducerId:
      return encodeResponse(request.apiKey, version, id, await initProducerId(request.body, ctx));
    case ApiKey.OffsetForLeaderEpoch:
      return encodeResponse(request.apiKey, version, id, offsetForLeaderEpoch(request.body, ctx));
    case ApiKey.DescribeAcls:
      return encodeResponse(request.apiKey, version, id, describeAcls(request.body, ctx));
    case ApiKey.CreateAcls:
      return encodeResponse(request.apiKey, version, id, await createAcls(request.body, ctx));
    case ApiKey.DeleteAcls:
      return encodeResponse(request.apiKey, version, id, await deleteAcls(request.body, ctx));
    case ApiKey.DescribeConfigs:
      return encodeResponse(request.apiKey, version, id, describeConfigs(request.body, ctx));
    case ApiKey.CreatePartitions:
      return encodeResponse(request.apiKey, version, id, await createPartitions(request.body, ctx));
    case ApiKey.DeleteGroups:
      return encodeResponse(request.apiKey, version, id, await groups.deleteGroups(request.body, ctx));
    case ApiKey.DescribeUserScramCredentials:
      return encodeResponse(request.apiKey, version, id, describeUserScramCredentials(request.body, ctx));
    case ApiKey.AlterUserScramCredentials:
      return encodeResponse(request.apiKey, version, id, await alterUserScramCredentials(request.body, ctx));
    case ApiKey.DescribeCluster:
      return encodeResponse(request.apiKey, version, id, describeCluster(request.body, ctx));
    case ApiKey.SaslHandshake:
      return encodeResponse(request.apiKey, version, id, saslHandshakeRefused());
    case ApiKey.SaslAuthenticate:
      return encodeResponse(request.apiKey, version, id, saslAuthenticateRefused());
    default:
      return unreachable(request);
  }
}

function unreachable(request: never): never {
  throw new Error(`no handler for api ${(request as KafkaRequest).apiKey}`);
}
