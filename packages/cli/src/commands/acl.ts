// `brook acl add|remove|list`: ACL bindings, in the spirit of Kafka's kafka-acls.sh. A binding allows
// (or, with --deny, denies) principals an operation on a resource from a host; several --principal,
// --host and --operation flags make one binding of each combination. One resource per command:
// --topic, --group, --transactional-id or --cluster; --prefixed makes the name a prefix.

import {
  type AclBinding,
  type AclBindingFilter,
  type Operation,
  type OperationFilter,
  parseOperation,
  type ResourceType,
} from "@brook/client";
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";

export function aclCommand(): Command {
  const acl = new Command("acl").description("add, remove and list ACL bindings (who may do what)");
  addAdd(acl);
  addRemove(acl);
  addList(acl);
  return acl as unknown as Command;
}

/** The flags every acl command takes; which are required, and what --prefixed may mean, differs. */
export interface AclFlags {
  principal?: string[];
  host?: string[];
  operation?: OperationFilter[];
  topic?: string;
  group?: string;
  transactionalId?: string;
  cluster?: true;
  prefixed?: true;
  match?: true;
  allow?: true;
  deny?: true;
}

function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** read, Write, DESCRIBE_CONFIGS, describe-configs, ... (any spelling Kafka's tool takes). */
function operationFlag(value: string, previous: OperationFilter[] = []): OperationFilter[] {
  try {
    return [...previous, parseOperation(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

interface Resource {
  resourceType: ResourceType;
  resourceName: string;
}

const resourceFlags = "--topic, --group, --transactional-id or --cluster";

/** The one resource the flags name; undefined when they name none. */
export function resourceOf(flags: AclFlags): Resource | undefined {
  const given: Array<[string, Resource]> = [];
  if (flags.topic !== undefined)
    given.push(["--topic", { resourceType: "topic", resourceName: flags.topic }]);
  if (flags.group !== undefined)
    given.push(["--group", { resourceType: "group", resourceName: flags.group }]);
  if (flags.transactionalId !== undefined) {
    given.push([
      "--transactional-id",
      { resourceType: "transactionalId", resourceName: flags.transactionalId },
    ]);
  }
  if (flags.cluster) given.push(["--cluster", { resourceType: "cluster", resourceName: "kafka-cluster" }]);
  if (given.length > 1) {
    throw new Error(`give one resource: ${resourceFlags} (got ${given.map(([flag]) => flag).join(", ")})`);
  }
  return given[0]?.[1];
}

/** Every combination of the given principals, hosts and operations on the one resource. */
export function bindingsOf(flags: AclFlags): AclBinding[] {
  const resource = resourceOf(flags);
  if (resource === undefined) throw new Error(`give the resource: ${resourceFlags}`);
  if (flags.prefixed && resource.resourceType === "cluster") {
    throw new Error(
      "--prefixed names a prefix of topics, groups or transactional ids; the cluster has one name",
    );
  }
  const principals = flags.principal ?? [];
  const operations = flags.operation ?? [];
  if (principals.length === 0)
    throw new Error("give at least one --principal, e.g. User:alice (User:* is everyone)");
  if (operations.length === 0) throw new Error("give at least one --operation, e.g. read");
  const concrete = operations.map((operation): Operation => {
    if (operation === "any")
      throw new Error("--operation any selects bindings in acl list and acl remove; use all");
    return operation;
  });
  const bindings: AclBinding[] = [];
  for (const principal of principals) {
    for (const host of flags.host ?? ["*"]) {
      for (const operation of concrete) {
        bindings.push({
          principal,
          host,
          ...resource,
          patternType: flags.prefixed ? "prefixed" : "literal",
          operation,
          permission: flags.deny ? "deny" : "allow",
        });
      }
    }
  }
  return bindings;
}

/**
 * The filters the flags make: one per combination of the given principals, hosts and operations; a
 * flag left out matches anything. A named resource matches by its exact name and pattern (literal, or
 * --prefixed), or with --match every binding that applies to it (literal, "*", and prefixes of it).
 */
export function filtersOf(flags: AclFlags): AclBindingFilter[] {
  const resource = resourceOf(flags);
  if (flags.prefixed && flags.match) throw new Error("--prefixed and --match cannot be used together");
  if ((flags.prefixed || flags.match) && resource === undefined) {
    throw new Error(`--prefixed and --match need a resource: ${resourceFlags}`);
  }
  if (flags.allow && flags.deny)
    throw new Error("--allow and --deny select one permission; give one or neither");
  const base: AclBindingFilter = {
    ...(resource ?? {}),
    ...(resource === undefined
      ? {}
      : { patternType: flags.match ? "match" : flags.prefixed ? "prefixed" : "literal" }),
    ...(flags.allow ? { permission: "allow" } : flags.deny ? { permission: "deny" } : {}),
  };
  const filters: AclBindingFilter[] = [];
  for (const principal of flags.principal ?? [undefined]) {
    for (const host of flags.host ?? [undefined]) {
      for (const operation of flags.operation ?? [undefined]) {
        filters.push({
          ...base,
          ...(principal === undefined ? {} : { principal }),
          ...(host === undefined ? {} : { host }),
          ...(operation === undefined ? {} : { operation }),
        });
      }
    }
  }
  return filters;
}

/** Same resource, then principal, host, operation, permission: the order the cluster lists them in. */
function compare(a: AclBinding, b: AclBinding): number {
  const key = (x: AclBinding) => [
    x.resourceType,
    x.resourceName,
    x.patternType,
    x.principal,
    x.host,
    x.operation,
    x.permission,
  ];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  }
  return 0;
}

export const aclTableHead = [
  "resource type",
  "resource name",
  "pattern",
  "principal",
  "host",
  "operation",
  "permission",
];

export function aclRows(bindings: readonly AclBinding[]): string[][] {
  return bindings.map((b) => [
    b.resourceType,
    b.resourceName,
    b.patternType,
    b.principal,
    b.host,
    b.operation,
    b.permission,
  ]);
}

function printBindings(title: string, bindings: readonly AclBinding[]): void {
  process.stdout.write(`${title}\n`);
  if (bindings.length > 0) printTable(aclTableHead, aclRows(bindings));
}

/** A sub-command taking the filter flags, for acl remove and acl list. */
function filterCommand(acl: Command, name: string, description: string) {
  return acl
    .command(name)
    .description(description)
    .option("--principal <principal>", "only this principal, e.g. User:alice (repeatable)", repeatable)
    .option("--host <ip>", "only this host (repeatable)", repeatable)
    .option("--operation <operation>", "only this operation (repeatable)", operationFlag)
    .option("--topic <name>", "only this topic")
    .option("--group <name>", "only this consumer group")
    .option("--transactional-id <id>", "only this transactional id")
    .option("--cluster", "only the cluster")
    .option("--prefixed", "the resource name is a prefix (a prefixed binding); default: literal")
    .option("--match", "every binding that applies to the resource: literal, '*' and prefixes of its name")
    .option("--allow", "only ALLOW bindings")
    .option("--deny", "only DENY bindings")
    .option("--json", "print JSON");
}

function addAdd(acl: Command): void {
  acl
    .command("add")
    .description(
      "add bindings: each --principal may (or with --deny, may not) perform each --operation on the resource, " +
        "from each --host; a binding that exists already is left as it is",
    )
    .option("--principal <principal>", "who: User:alice, or User:* for everyone (repeatable)", repeatable)
    .option(
      "--operation <operation>",
      "all, read, write, create, delete, alter, describe, cluster-action, describe-configs, alter-configs, " +
        "idempotent-write (repeatable)",
      operationFlag,
    )
    .option("--topic <name>", "a topic ('*': every topic)")
    .option("--group <name>", "a consumer group ('*': every group)")
    .option("--transactional-id <id>", "a transactional id ('*': every one)")
    .option("--cluster", "the cluster itself (create topics, idempotent writes, describe the cluster, ...)")
    .option("--prefixed", "the name is a prefix: the binding applies to every name starting with it")
    .option("--host <ip>", "from this IP address only (repeatable; default: every host)", repeatable)
    .option("--deny", "deny instead of allow (a DENY wins over any ALLOW)")
    .action(async (options, command) => {
      const bindings = bindingsOf(options);
      await withAdmin(command, async (admin) => {
        await admin.createAcls(bindings);
        printBindings(`added ${bindings.length} ACL binding(s):`, [...bindings].sort(compare));
      });
    });
}

function addRemove(acl: Command): void {
  filterCommand(
    acl,
    "remove",
    "remove every binding the flags select (a flag left out selects anything; at least one is needed) " +
      "and print what was removed",
  ).action(async (options, command) => {
    const filters = filtersOf(options);
    if (filters.length === 1 && Object.keys(filters[0]).length === 0) {
      throw new Error(
        `acl remove needs a filter: --principal, --host, --operation, ${resourceFlags}, --allow or --deny`,
      );
    }
    await withAdmin(command, async (admin) => {
      const results = await admin.deleteAcls(filters);
      const removed = unique(results.flatMap(({ bindings }) => bindings)).sort(compare);
      if (options.json) printJson(removed);
      else printBindings(`removed ${removed.length} ACL binding(s)${removed.length > 0 ? ":" : ""}`, removed);
    });
  });
}

function addList(acl: Command): void {
  filterCommand(acl, "list", "list the bindings the flags select (all without any), by resource").action(
    async (options, command) => {
      const filters = filtersOf(options);
      await withAdmin(command, async (admin) => {
        const listed = unique(
          (await Promise.all(filters.map((filter) => admin.describeAcls(filter)))).flat(),
        );
        listed.sort(compare);
        if (options.json) printJson(listed);
        else if (listed.length === 0) process.stdout.write("no ACL bindings\n");
        else printTable(aclTableHead, aclRows(listed));
      });
    },
  );
}

/** Each binding once (several filters may select the same one). */
function unique(bindings: readonly AclBinding[]): AclBinding[] {
  const byKey = new Map(bindings.map((binding) => [JSON.stringify(aclRows([binding])[0]), binding]));
  return [...byKey.values()];
}
