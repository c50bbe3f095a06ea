// Users (SCRAM credentials) and ACL bindings as the metadata log holds them. The
// rules themselves are @brook/security's (SCRAM, the ACL model, validation); this
// file turns them into records and back, checks records as they are decoded, and
// reads the ACL messages of the wire (strings, as proto/broker.proto has them)
// for the controller, which decides, and the broker, which describes.

import { BrookError } from "@brook/protocol";
import {
  type AclBinding,
  type AclBindingFilter,
  AclError,
  DEFAULT_MAX_ACL_BINDINGS,
  isOperation,
  isPatternType,
  isPermission,
  isResourceType,
  isScramMechanism,
  parseOperation,
  parsePatternType,
  parsePermission,
  parseResourceType,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MIN_ITERATIONS,
  type ScramCredential,
  type ScramMechanism,
  validateBinding,
} from "@brook/security";
import type {
  AclRecord,
  AclRemovalRecord,
  UserScramCredentialRecord,
  UserScramCredentialRemovalRecord,
} from "./records.js";

/**
 * At most this many credentials (user and mechanism pairs) in the cluster: each is in every node's
 * memory, so an admin (or a script gone wrong) cannot grow them without end. RESOURCE_LIMIT_REACHED past it.
 */
export const scramCredentialsMax = 100_000;
/** At most this many ACL bindings: the ACL table's own bound. */
export const aclBindingsMax = DEFAULT_MAX_ACL_BINDINGS;
/** A user name is at most this long (it travels in every SCRAM exchange and every principal). */
export const userNameLengthMax = 255;

/** Bytes of each key per mechanism: the hash's output. */
const keyBytes: Readonly<Record<ScramMechanism, number>> = { "SCRAM-SHA-256": 32, "SCRAM-SHA-512": 64 };
/** As @brook/security's SCRAM takes them. */
const saltBytesMax = 1024;

/** Throws INVALID_REQUEST unless `name` can name a user: 1-255 characters of well-formed text, no control characters. */
export function validateUserName(name: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new BrookError("INVALID_REQUEST", "a user name must not be empty");
  }
  if (name.length > userNameLengthMax) {
    throw new BrookError(
      "INVALID_REQUEST",
      `user name '${name.slice(0, 40)}...' is ${name.length} characters; at most ${userNameLengthMax} are allowed`,
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f]|\p{Cs}/u.test(name)) {
    throw new BrookError(
      "INVALID_REQUEST",
      `user name ${JSON.stringify(name)} holds a control character or a lone UTF-16 surrogate`,
    );
  }
}

/** The record storing `credential` for user `name` (keys and salt in base64). */
export function scramCredentialRecord(name: string, credential: ScramCredential): UserScramCredentialRecord {
  return {
    type: "user-scram-credential",
    name,
    mechanism: credential.mechanism,
    iterations: credential.iterations,
    salt: credential.salt.toString("base64"),
    storedKey: credential.storedKey.toString("base64"),
    serverKey: credential.serverKey.toString("base64"),
  };
}

/** The credential a (checked) record stores. */
export function scramCredentialOf(record: UserScramCredentialRecord): ScramCredential {
  return {
    mechanism: record.mechanism,
    iterations: record.iterations,
    salt: Buffer.from(record.salt, "base64"),
    storedKey: Buffer.from(record.storedKey, "base64"),
    serverKey: Buffer.from(record.serverKey, "base64"),
  };
}

function invalidRecord(type: string, reason: string): Error {
  return new Error(`invalid ${type} metadata record: ${reason}`);
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Canonical base64 of 1..maxBytes bytes (Buffer.from would skip what is not base64 without a word). */
function checkBase64(type: string, field: string, value: unknown, bytes: { min: number; max: number }): void {
  if (typeof value !== "string" || value === "" || !base64Pattern.test(value)) {
    throw invalidRecord(type, `${field} is not base64`);
  }
  const length = Buffer.byteLength(value, "base64");
  if (length < bytes.min || length > bytes.max) {
    const expected = bytes.min === bytes.max ? `${bytes.min}` : `${bytes.min}..${bytes.max}`;
    throw invalidRecord(type, `${field} is ${length} bytes, not ${expected}`);
  }
}

function checkName(type: string, name: unknown): void {
  try {
    validateUserName(name as string);
  } catch (error) {
    throw invalidRecord(type, (error as Error).message);
  }
}

function checkMechanism(type: string, mechanism: unknown): asserts mechanism is ScramMechanism {
  if (!isScramMechanism(mechanism)) throw invalidRecord(type, `unknown SCRAM mechanism ${String(mechanism)}`);
}

/** Throws the decode error for a credential record that could not have been written. */
export function checkScramCredentialRecord(record: UserScramCredentialRecord): void {
  const type = record.type;
  checkName(type, record.name);
  checkMechanism(type, record.mechanism);
  const { iterations } = record;
  if (
    !Number.isSafeInteger(iterations) ||
    iterations < SCRAM_MIN_ITERATIONS ||
    iterations > SCRAM_MAX_ITERATIONS
  ) {
    throw invalidRecord(
      type,
      `iterations ${String(iterations)} outside ${SCRAM_MIN_ITERATIONS}..${SCRAM_MAX_ITERATIONS}`,
    );
  }
  const key = keyBytes[record.mechanism];
  checkBase64(type, "salt", record.salt, { min: 1, max: saltBytesMax });
  checkBase64(type, "storedKey", record.storedKey, { min: key, max: key });
  checkBase64(type, "serverKey", record.serverKey, { min: key, max: key });
}

export function checkScramCredentialRemovalRecord(record: UserScramCredentialRemovalRecord): void {
  checkName(record.type, record.name);
  checkMechanism(record.type, record.mechanism);
}

/** The binding an ACL record (or removal) holds, with no other field. */
export function aclBindingOf(record: AclRecord | AclRemovalRecord): AclBinding {
  const { principal, host, resourceType, resourceName, patternType, operation, permission } = record;
  return { principal, host, resourceType, resourceName, patternType, operation, permission };
}

/** Throws the decode error for an ACL record whose binding is not valid (validateBinding's rules). */
export function checkAclRecord(record: AclRecord | AclRemovalRecord): void {
  try {
    validateBinding(aclBindingOf(record));
  } catch (error) {
    throw invalidRecord(record.type, (error as Error).message);
  }
}

// ---- ACL bindings and filters on the wire ---------------------------------------

/** An ACL binding as proto/broker.proto's AclBindingInfo carries it: every field a string. */
export interface AclBindingFields {
  readonly principal: string;
  readonly host: string;
  readonly resourceType: string;
  readonly resourceName: string;
  readonly patternType: string;
  readonly operation: string;
  readonly permission: string;
}

/** A filter as AclBindingFilterInfo carries it: an empty field matches anything. */
export type AclBindingFilterFields = AclBindingFields;

/** The wire form of a binding (it is one already: the names are the wire's). */
export function aclBindingFields(binding: AclBinding): AclBindingFields {
  const { principal, host, resourceType, resourceName, patternType, operation, permission } = binding;
  return { principal, host, resourceType, resourceName, patternType, operation, permission };
}

/**
 * An AclError as the BrookError of the same code (its codes are Brook's), its message prefixed by
 * `where`; a BrookError as it is; anything else as UNKNOWN_SERVER_ERROR.
 */
export function aclBrookError(error: unknown, where = ""): BrookError {
  if (error instanceof BrookError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof AclError ? error.code : "UNKNOWN_SERVER_ERROR";
  return new BrookError(code, where === "" ? message : `${where}: ${message}`, { cause: error });
}

/** Parses one enum field with its @brook/security parser; the error names the field. */
function parseField<T>(field: string, value: string, parse: (text: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    throw aclBrookError(error, field);
  }
}

function required(field: string, value: string): string {
  if (typeof value !== "string" || value === "") {
    throw new BrookError("INVALID_REQUEST", `${field} is empty`);
  }
  return value;
}

/**
 * The binding `fields` name, each enum parsed by @brook/security's parse functions (so "DESCRIBE_CONFIGS"
 * and "describe-configs" are describeConfigs) and the whole checked by validateBinding; INVALID_REQUEST
 * naming the field otherwise ("any" and "match" select in filters but are no binding's value).
 */
export function aclBindingFromFields(fields: AclBindingFields): AclBinding {
  const resourceType = parseField(
    "resourceType",
    required("resourceType", fields.resourceType),
    parseResourceType,
  );
  const patternType = parseField(
    "patternType",
    required("patternType", fields.patternType),
    parsePatternType,
  );
  const operation = parseField("operation", required("operation", fields.operation), parseOperation);
  const permission = parseField("permission", required("permission", fields.permission), parsePermission);
  const notInBinding = (field: string, value: string) =>
    new BrookError(
      "INVALID_REQUEST",
      `${field}: "${value}" selects bindings in a filter; a binding names one`,
    );
  if (!isResourceType(resourceType)) throw notInBinding("resourceType", resourceType);
  if (!isPatternType(patternType)) throw notInBinding("patternType", patternType);
  if (!isOperation(operation)) throw notInBinding("operation", operation);
  if (!isPermission(permission)) throw notInBinding("permission", permission);
  const binding: AclBinding = {
    principal: required("principal", fields.principal),
    host: required("host", fields.host),
    resourceType,
    resourceName: required("resourceName", fields.resourceName),
    patternType,
    operation,
    permission,
  };
  try {
    validateBinding(binding);
  } catch (error) {
    throw aclBrookError(error);
  }
  return binding;
}

/** The filter `fields` describe (empty: any), each enum parsed as for a binding; INVALID_REQUEST naming the field. */
export function aclFilterFromFields(
  fields: Partial<AclBindingFilterFields> | null | undefined,
): AclBindingFilter {
  if (fields === null || fields === undefined) return {};
  const text = (value: string | undefined) => (value === undefined || value === "" ? undefined : value);
  const parsed = <T>(field: string, value: string | undefined, parse: (text: string) => T): T | undefined => {
    const given = text(value);
    return given === undefined ? undefined : parseField(field, given, parse);
  };
  const filter: AclBindingFilter = {
    resourceType: parsed("resourceType", fields.resourceType, parseResourceType),
    resourceName: text(fields.resourceName) ?? null,
    patternType: parsed("patternType", fields.patternType, parsePatternType),
    principal: text(fields.principal) ?? null,
    host: text(fields.host) ?? null,
    operation: parsed("operation", fields.operation, parseOperation),
    permission: parsed("permission", fields.permission, parsePermission),
  };
  return Object.fromEntries(
    Object.entries(filter).filter(([, value]) => value !== undefined && value !== null),
  ) as AclBindingFilter;
}

/** Code-unit order: the same on every node, whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A stable order for listing bindings: by resource (type, name, pattern), then principal, host, operation, permission. */
export function compareAclBindings(a: AclBinding, b: AclBinding): number {
  return (
    compare(a.resourceType, b.resourceType) ||
    compare(a.resourceName, b.resourceName) ||
    compare(a.patternType, b.patternType) ||
    compare(a.principal, b.principal) ||
    compare(a.host, b.host) ||
    compare(a.operation, b.operation) ||
    compare(a.permission, b.permission)
  );
}
