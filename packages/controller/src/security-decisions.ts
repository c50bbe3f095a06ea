// The controller's decisions about users and ACLs, as pure functions of the
// current image: each returns the records to append and one outcome per entry
// of the request, as Kafka's controller answers AlterUserScramCredentials,
// CreateAcls and DeleteAcls (a refused entry does not stop the others).

import {
  type AclBindingFields,
  type AclBindingFilterFields,
  aclBindingFromFields,
  aclBindingsMax,
  aclBrookError,
  aclFilterFromFields,
  type MetadataImage,
  type MetadataRecord,
  scramCredentialRecord,
  scramCredentialsMax,
  validateUserName,
} from "@brook/metadata";
import { asBrookError, BrookError } from "@brook/protocol";
import {
  type AclBinding,
  AclTable,
  isScramMechanism,
  type ScramMechanism,
  scramCredentialFromSaltedPassword,
} from "@brook/security";

/** A credential to create or replace: what the client computed from the password, never the password. */
export interface ScramCredentialUpsertion {
  readonly name: string;
  /** SCRAM-SHA-256 or SCRAM-SHA-512 (anything else is refused). */
  readonly mechanism: string;
  readonly iterations: number;
  readonly salt: Uint8Array;
  /** Hi(password, salt, iterations) of RFC 5802 for the mechanism's hash. */
  readonly saltedPassword: Uint8Array;
}

export interface ScramCredentialDeletion {
  readonly name: string;
  readonly mechanism: string;
}

export interface AlterUserScramCredentialsRequest {
  readonly upsertions: readonly ScramCredentialUpsertion[];
  readonly deletions: readonly ScramCredentialDeletion[];
}

/** One per user the request names; `error` when none of the user's alterations was made. */
export interface UserOutcome {
  readonly user: string;
  readonly error?: BrookError;
}

export interface AlterUserScramCredentialsPlan {
  readonly records: MetadataRecord[];
  /** In the order the request first names each user, deletions before upsertions. */
  readonly results: UserOutcome[];
}

interface Alteration {
  readonly mechanism: string;
  readonly upsertion?: ScramCredentialUpsertion;
}

/**
 * Kafka's AlterUserScramCredentials (ScramControlManager): each user's deletions and upsertions are
 * checked, and applied all together or, when one is refused, not at all (the user's outcome carries
 * the first refusal). Refused with INVALID_REQUEST: an empty or malformed name, a mechanism that is
 * not SCRAM-SHA-256 or -512, iterations outside 4096..16384, a salted password of the wrong length,
 * the same user and mechanism twice in one request, and deleting a credential that does not exist.
 * The stored and server keys are derived here from the salted password (the password never reaches
 * the cluster). RESOURCE_LIMIT_REACHED for a user whose new credentials would pass scramCredentialsMax.
 */
export function planAlterUserScramCredentials(
  image: MetadataImage,
  request: AlterUserScramCredentialsRequest,
  limit = scramCredentialsMax,
): AlterUserScramCredentialsPlan {
  const byUser = new Map<string, Alteration[]>();
  const add = (name: string, alteration: Alteration) => {
    const alterations = byUser.get(name);
    if (alterations) alterations.push(alteration);
    else byUser.set(name, [alteration]);
  };
  for (const deletion of request.deletions) add(deletion.name, { mechanism: deletion.mechanism });
  for (const upsertion of request.upsertions)
    add(upsertion.name, { mechanism: upsertion.mechanism, upsertion });

  let count = image.scramCredentialCount();
  const records: MetadataRecord[] = [];
  const results: UserOutcome[] = [];
  for (const [user, alterations] of byUser) {
    try {
      const planned = planUser(image, user, alterations);
      const next = count + planned.added;
      if (planned.added > 0 && next > limit) {
        throw new BrookError(
          "RESOURCE_LIMIT_REACHED",
          `the cluster holds ${count} SCRAM credentials, and at most ${limit} are allowed; delete some before adding more`,
        );
      }
      count = next;
      records.push(...planned.records);
      results.push({ user });
    } catch (error) {
      results.push({ user, error: asBrookError(error) });
    }
  }
  return { records, results };
}

/** One user's records, and how many credentials they add (a replacement adds none, a deletion takes one away). */
function planUser(
  image: MetadataImage,
  user: string,
  alterations: readonly Alteration[],
): { records: MetadataRecord[]; added: number } {
  validateUserName(user);
  const seen = new Set<ScramMechanism>();
  for (const { mechanism } of alterations) {
    if (!isScramMechanism(mechanism)) {
      throw new BrookError(
        "INVALID_REQUEST",
        `unknown SCRAM mechanism '${mechanism}': use SCRAM-SHA-256 or SCRAM-SHA-512`,
      );
    }
    if (seen.has(mechanism)) {
      throw new BrookError(
        "INVALID_REQUEST",
        `the ${mechanism} credential of user '${user}' is altered twice in one request`,
      );
    }
    seen.add(mechanism);
  }
  const existing = image.users.get(user);
  const records: MetadataRecord[] = [];
  let added = 0;
  for (const { mechanism, upsertion } of alterations) {
    if (!isScramMechanism(mechanism)) continue; // checked above
    const exists = existing?.has(mechanism) ?? false;
    if (upsertion === undefined) {
      if (!exists) {
        throw new BrookError("INVALID_REQUEST", `user '${user}' has no ${mechanism} credential to delete`);
      }
      records.push({ type: "user-scram-credential-removal", name: user, mechanism });
      added--;
      continue;
    }
    records.push(scramCredentialRecord(user, credentialOf(mechanism, upsertion)));
    if (!exists) added++;
  }
  return { records, added };
}

function credentialOf(mechanism: ScramMechanism, upsertion: ScramCredentialUpsertion) {
  try {
    return scramCredentialFromSaltedPassword(
      mechanism,
      Buffer.from(upsertion.salt),
      upsertion.iterations,
      Buffer.from(upsertion.saltedPassword),
    );
  } catch (error) {
    throw new BrookError(
      "INVALID_REQUEST",
      `unacceptable ${mechanism} credential: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** One per binding of a CreateAcls request: `error` when it was refused. */
export interface AclCreateOutcome {
  readonly error?: BrookError;
}

export interface CreateAclsPlan {
  readonly records: MetadataRecord[];
  readonly results: AclCreateOutcome[];
}

/**
 * Kafka's CreateAcls: each binding is parsed and validated (INVALID_REQUEST naming the field), and
 * added unless the table has it already, which succeeds without a record (as in Kafka), as does the
 * same binding twice in one request. RESOURCE_LIMIT_REACHED for the bindings past aclBindingsMax.
 */
export function planCreateAcls(
  image: MetadataImage,
  bindings: readonly AclBindingFields[],
  limit = aclBindingsMax,
): CreateAclsPlan {
  const added = new AclTable({ maxBindings: Number.MAX_SAFE_INTEGER });
  const records: MetadataRecord[] = [];
  const results: AclCreateOutcome[] = [];
  for (const fields of bindings) {
    try {
      const binding = aclBindingFromFields(fields);
      if (image.acls.has(binding) || added.has(binding)) {
        results.push({});
        continue;
      }
      if (image.acls.size + added.size >= limit) {
        throw new BrookError(
          "RESOURCE_LIMIT_REACHED",
          `the cluster holds ${image.acls.size + added.size} ACL bindings, and at most ${limit} are allowed; remove some before adding more`,
        );
      }
      added.add(binding);
      records.push({ type: "acl", ...binding });
      results.push({});
    } catch (error) {
      results.push({ error: aclBrookError(error) });
    }
  }
  return { records, results };
}

/** One per filter of a DeleteAcls request: the bindings it matched (all removed), or why it was refused. */
export interface AclDeleteOutcome {
  readonly bindings: readonly AclBinding[];
  readonly error?: BrookError;
}

export interface DeleteAclsPlan {
  readonly records: MetadataRecord[];
  readonly results: AclDeleteOutcome[];
}

/**
 * Kafka's DeleteAcls: each filter (INVALID_REQUEST for a field that is none of its values) lists
 * every binding of the image it matches, and each binding matched by any filter is removed once.
 */
export function planDeleteAcls(
  image: MetadataImage,
  filters: readonly AclBindingFilterFields[],
): DeleteAclsPlan {
  const removed = new AclTable({ maxBindings: Number.MAX_SAFE_INTEGER });
  const records: MetadataRecord[] = [];
  const results: AclDeleteOutcome[] = [];
  for (const fields of filters) {
    try {
      const bindings = image.acls.describe(aclFilterFromFields(fields));
      for (const binding of bindings) {
        if (removed.add(binding)) records.push({ type: "acl-removal", ...binding });
      }
      results.push({ bindings });
    } catch (error) {
      results.push({ bindings: [], error: aclBrookError(error) });
    }
  }
  return { records, results };
}
