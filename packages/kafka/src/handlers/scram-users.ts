// DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554: kafka-configs.sh --entity-type
// users) over the broker's user admin calls, which authorize the caller on the cluster (Describe, Alter)
// and forward alterations to the active controller. The client salts and hashes the password itself;
// the salt and salted password pass through to the controller, which derives the stored keys. Kafka's
// ScramMechanism codes are 1 (SCRAM-SHA-256) and 2 (SCRAM-SHA-512). A caller the broker refuses gets
// CLUSTER_AUTHORIZATION_FAILED for every user it named; the connection stays open.

import type { BrokerApi } from "@brook/broker";
import {
  CLUSTER_RESOURCE_NAME,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MIN_ITERATIONS,
  type ScramMechanism,
} from "@brook/security";
import { KafkaErrorCode } from "../error-codes.js";
import { brookErrorOf, kafkaErrorCodeOf, kafkaErrorOf } from "../errors.js";
import type {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponseInput,
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponseInput,
  DescribeUserScramCredentialsResponseResultInput,
} from "../generated/messages.js";
import { type RequestContext, requireAccess } from "./context.js";

type Alterations = Parameters<BrokerApi["alterUserScramCredentials"]>[0];
type WireError = { code?: string; message?: string } | null;

/** A user in the broker's answer (its generated type leaves every field optional). */
interface UserDescription {
  user?: string;
  error?: WireError;
  credentials?: readonly { mechanism?: string; iterations?: number }[];
}

/** Kafka's ScramMechanism codes (0 is UNKNOWN). */
const MECHANISM_BY_CODE: ReadonlyMap<number, ScramMechanism> = new Map([
  [1, "SCRAM-SHA-256"],
  [2, "SCRAM-SHA-512"],
]);
const CODE_BY_MECHANISM: ReadonlyMap<string, number> = new Map(
  [...MECHANISM_BY_CODE].map(([code, mechanism]) => [mechanism, code]),
);
const UNKNOWN_MECHANISM = 0;

interface Failure {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

const succeeded: Failure = { errorCode: KafkaErrorCode.NONE, errorMessage: null };

/** How many times each name occurs, in the order first named. */
function counted(names: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/**
 * Every user (null or an empty list) or the named ones. The broker refuses a named user without
 * credentials and a user named twice with INVALID_REQUEST; Kafka's codes for those two are
 * RESOURCE_NOT_FOUND and DUPLICATE_RESOURCE, which admin clients tell apart (kafka-configs.sh skips a
 * user it is told does not exist).
 */
export function describeUserScramCredentials(
  request: DescribeUserScramCredentialsRequest,
  ctx: RequestContext,
): DescribeUserScramCredentialsResponseInput {
  const counts = counted((request.users ?? []).map((user) => user.name));
  try {
    const answer = ctx.broker.describeUserScramCredentials({ users: [...counts.keys()] }, ctx.caller);
    return {
      throttleTimeMs: 0,
      ...succeeded,
      results: (answer.results ?? []).map((result) => described(result, counts)),
    };
  } catch (error) {
    const failure = kafkaErrorOf(error);
    return {
      throttleTimeMs: 0,
      ...failure,
      results: [...counts.keys()].map((user) => ({ user, ...failure, credentialInfos: [] })),
    };
  }
}

function described(
  result: UserDescription,
  counts: ReadonlyMap<string, number>,
): DescribeUserScramCredentialsResponseResultInput {
  const user = result.user ?? "";
  if ((counts.get(user) ?? 0) > 1) {
    return {
      user,
      errorCode: KafkaErrorCode.DUPLICATE_RESOURCE,
      errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
      credentialInfos: [],
    };
  }
  const error = brookErrorOf(result.error);
  if (error !== undefined) {
    return {
      user,
      errorCode:
        error.code === "INVALID_REQUEST" ? KafkaErrorCode.RESOURCE_NOT_FOUND : kafkaErrorCodeOf(error),
      errorMessage: error.detail,
      credentialInfos: [],
    };
  }
  return {
    user,
    ...succeeded,
    credentialInfos: (result.credentials ?? []).map(({ mechanism, iterations }) => ({
      mechanism: CODE_BY_MECHANISM.get(mechanism ?? "") ?? UNKNOWN_MECHANISM,
      iterations: iterations ?? 0,
    })),
  };
}

/**
 * One result per user, in the order first named (deletions, then upsertions); a user's alterations are
 * made all together or not at all. What Kafka's controller refuses without looking at the stored
 * credentials is refused here with its codes and words (and none of that user's alterations is sent):
 * an empty name and iterations outside 4096..16384 (UNACCEPTABLE_CREDENTIAL), an unknown mechanism
 * (UNSUPPORTED_SASL_MECHANISM), the same user and mechanism twice (DUPLICATE_RESOURCE). The rest is the
 * controller's answer.
 */
export async function alterUserScramCredentials(
  request: AlterUserScramCredentialsRequest,
  ctx: RequestContext,
): Promise<AlterUserScramCredentialsResponseInput> {
  const users = [
    ...new Set([...request.deletions, ...request.upsertions].map((alteration) => alteration.name)),
  ];
  const refused = new Map<string, Failure>();
  const seen = new Set<string>();
  const check = (name: string, mechanismCode: number, iterations?: number) => {
    const refusal = refusalOf(name, mechanismCode, iterations, seen);
    if (refusal !== undefined && !refused.has(name)) refused.set(name, refusal);
  };
  for (const deletion of request.deletions) check(deletion.name, deletion.mechanism);
  for (const upsertion of request.upsertions)
    check(upsertion.name, upsertion.mechanism, upsertion.iterations);

  const wanted: Alterations = {
    deletions: request.deletions
      .filter(({ name }) => !refused.has(name))
      .map(({ name, mechanism }) => ({ name, mechanism: MECHANISM_BY_CODE.get(mechanism) ?? "" })),
    upsertions: request.upsertions
      .filter(({ name }) => !refused.has(name))
      .map(({ name, mechanism, iterations, salt, saltedPassword }) => ({
        name,
        mechanism: MECHANISM_BY_CODE.get(mechanism) ?? "",
        iterations,
        // Copies: the decoded fields are views of the request's frame.
        salt: Buffer.from(salt),
        saltedPassword: Buffer.from(saltedPassword),
      })),
  };
  const byUser = new Map<string, WireError | undefined>();
  try {
    if (wanted.deletions.length === 0 && wanted.upsertions.length === 0) {
      requireAccess(ctx, "alter", "cluster", CLUSTER_RESOURCE_NAME);
    } else {
      const answer = await ctx.broker.alterUserScramCredentials(wanted, ctx.caller);
      for (const result of answer.results ?? []) byUser.set(result.user ?? "", result.error);
    }
  } catch (error) {
    const failure = kafkaErrorOf(error);
    return { throttleTimeMs: 0, results: users.map((user) => ({ user, ...failure })) };
  }
  return {
    throttleTimeMs: 0,
    results: users.map((user) => {
      const refusal = refused.get(user);
      if (refusal !== undefined) return { user, ...refusal };
      if (!byUser.has(user)) {
        return {
          user,
          errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR,
          errorMessage: "the broker gave no result for this user",
        };
      }
      const error = brookErrorOf(byUser.get(user));
      return { user, ...(error === undefined ? succeeded : kafkaErrorOf(error)) };
    }),
  };
}

/** Kafka's refusal of one alteration that needs no stored state to decide (ScramControlManager's checks). */
function refusalOf(
  name: string,
  mechanismCode: number,
  iterations: number | undefined,
  seen: Set<string>,
): Failure | undefined {
  const key = `${mechanismCode}:${name}`;
  if (seen.has(key)) {
    return {
      errorCode: KafkaErrorCode.DUPLICATE_RESOURCE,
      errorMessage: "A user credential cannot be altered twice in the same request",
    };
  }
  seen.add(key);
  if (name === "") {
    return { errorCode: KafkaErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Username must not be empty" };
  }
  if (!MECHANISM_BY_CODE.has(mechanismCode)) {
    return { errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: "Unknown SCRAM mechanism" };
  }
  if (iterations !== undefined && iterations < SCRAM_MIN_ITERATIONS) {
    return { errorCode: KafkaErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Too few iterations" };
  }
  if (iterations !== undefined && iterations > SCRAM_MAX_ITERATIONS) {
    return { errorCode: KafkaErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Too many iterations" };
  }
  return undefined;
}
