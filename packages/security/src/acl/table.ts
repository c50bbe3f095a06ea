// The ACL table: every binding once, indexed so that authorizing a request looks at the bindings
// that can apply to its resource only, never at every binding. Per resource type there is a map
// from literal name to bindings (the wildcard "*" is one such name) and a map from prefix to
// bindings; a request for name N looks up N, "*", and N's prefixes of each length some prefixed
// binding has (few distinct lengths in practice), each one map lookup.
//
// The table is bounded: past `maxBindings` an add fails with RESOURCE_LIMIT_REACHED rather than
// letting an admin (or a bug) grow every broker's memory without end.

import { type AclBindingFilter, matches as filterMatches, validateFilter } from "./filter.js";
import { canonicalHost } from "./host.js";
import {
  type AclBinding,
  AclError,
  type PatternType,
  RESOURCE_TYPES,
  type ResourceType,
  unreachable,
  WILDCARD_RESOURCE,
} from "./model.js";
import { validateBinding } from "./validate.js";

export const DEFAULT_MAX_ACL_BINDINGS = 100_000;

export interface AclTableOptions {
  /** At most this many bindings (default 100,000). */
  readonly maxBindings?: number;
}

/** A stored binding and its host in canonical form, computed once rather than on every request. */
export interface StoredAcl {
  readonly binding: AclBinding;
  readonly host: string;
}

type Group = Map<string, StoredAcl>;

interface TypeIndex {
  readonly literal: Map<string, Group>;
  readonly prefixed: Map<string, Group>;
  /** How many prefixed names there are of each length, so a lookup tries only lengths that exist. */
  readonly prefixLengths: Map<number, number>;
}

function emptyIndex(): TypeIndex {
  return { literal: new Map(), prefixed: new Map(), prefixLengths: new Map() };
}

/** Identity of a binding: every field, the host canonical (so "::1" and "0::1" are one binding). */
function keyOf(binding: AclBinding, host: string): string {
  return JSON.stringify([
    binding.resourceType,
    binding.patternType,
    binding.resourceName,
    binding.principal,
    host,
    binding.operation,
    binding.permission,
  ]);
}

function copyOf(binding: AclBinding): AclBinding {
  const { principal, host, resourceType, resourceName, patternType, operation, permission } = binding;
  return Object.freeze({ principal, host, resourceType, resourceName, patternType, operation, permission });
}

export class AclTable {
  readonly maxBindings: number;
  readonly #byKey = new Map<string, StoredAcl>();
  readonly #byType: Readonly<Record<ResourceType, TypeIndex>>;

  constructor(options: AclTableOptions = {}) {
    const max = options.maxBindings ?? DEFAULT_MAX_ACL_BINDINGS;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new AclError("INVALID_CONFIG", `maxBindings must be a positive integer, not ${max}`);
    }
    this.maxBindings = max;
    this.#byType = Object.fromEntries(RESOURCE_TYPES.map((type) => [type, emptyIndex()])) as Record<
      ResourceType,
      TypeIndex
    >;
  }

  /** A table holding `bindings` (each validated; duplicates stored once). */
  static from(bindings: Iterable<AclBinding>, options?: AclTableOptions): AclTable {
    const table = new AclTable(options);
    for (const binding of bindings) table.add(binding);
    return table;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Stores `binding` (a frozen copy). True if it is new, false if the table already held it, which is
   * no error (Kafka's CreateAcls succeeds for an existing ACL). Throws an AclError if the binding is
   * invalid (INVALID_REQUEST) or the table is full (RESOURCE_LIMIT_REACHED).
   */
  add(binding: AclBinding): boolean {
    validateBinding(binding);
    const host = canonicalHost(binding.host);
    const key = keyOf(binding, host);
    if (this.#byKey.has(key)) return false;
    if (this.#byKey.size >= this.maxBindings) {
      throw new AclError(
        "RESOURCE_LIMIT_REACHED",
        `the ACL table is full (${this.maxBindings} bindings); remove some before adding more`,
      );
    }
    const stored: StoredAcl = { binding: copyOf(binding), host };
    this.#byKey.set(key, stored);
    this.#insert(key, stored);
    return true;
  }

  /** Removes the binding equal to `binding` (hosts compared canonically); true if there was one. */
  remove(binding: AclBinding): boolean {
    const key = keyOf(binding, canonicalHost(binding.host));
    const stored = this.#byKey.get(key);
    if (stored === undefined) return false;
    this.#byKey.delete(key);
    this.#delete(key, stored.binding);
    return true;
  }

  has(binding: AclBinding): boolean {
    return this.#byKey.has(keyOf(binding, canonicalHost(binding.host)));
  }

  /** The bindings `filter` selects, in the order they were added (DescribeAcls, `brook acl list`). */
  describe(filter: AclBindingFilter = {}): AclBinding[] {
    validateFilter(filter);
    const found: AclBinding[] = [];
    for (const { binding } of this.#byKey.values()) {
      if (filterMatches(filter, binding)) found.push(binding);
    }
    return found;
  }

  /** Removes and returns the bindings `filter` selects (DeleteAcls, `brook acl remove`). */
  removeMatching(filter: AclBindingFilter): AclBinding[] {
    const found = this.describe(filter);
    for (const binding of found) this.remove(binding);
    return found;
  }

  [Symbol.iterator](): IterableIterator<AclBinding> {
    return Array.from(this.#byKey.values(), (stored) => stored.binding)[Symbol.iterator]();
  }

  /**
   * The groups of bindings whose pattern applies to `resourceName` of `resourceType`: the literal
   * name, the wildcard, then each prefix of the name that prefixed bindings have. For the authorizer.
   */
  groupsFor(resourceType: ResourceType, resourceName: string): ReadonlyMap<string, StoredAcl>[] {
    const index = this.#byType[resourceType];
    const groups: Group[] = [];
    const literal = index.literal.get(resourceName);
    if (literal !== undefined) groups.push(literal);
    const wildcard = resourceName === WILDCARD_RESOURCE ? undefined : index.literal.get(WILDCARD_RESOURCE);
    if (wildcard !== undefined) groups.push(wildcard);
    for (const length of index.prefixLengths.keys()) {
      if (length > resourceName.length) continue;
      const prefixed = index.prefixed.get(resourceName.slice(0, length));
      if (prefixed !== undefined) groups.push(prefixed);
    }
    return groups;
  }

  /** Every stored binding of one resource type (authorizeByResourceType scans them). */
  *ofType(resourceType: ResourceType): IterableIterator<StoredAcl> {
    const index = this.#byType[resourceType];
    for (const group of index.literal.values()) yield* group.values();
    for (const group of index.prefixed.values()) yield* group.values();
  }

  #names(resourceType: ResourceType, patternType: PatternType): Map<string, Group> {
    const index = this.#byType[resourceType];
    switch (patternType) {
      case "literal":
        return index.literal;
      case "prefixed":
        return index.prefixed;
      default:
        return unreachable(patternType, "pattern type");
    }
  }

  #insert(key: string, stored: StoredAcl): void {
    const { resourceType, patternType, resourceName } = stored.binding;
    const names = this.#names(resourceType, patternType);
    const group = names.get(resourceName);
    if (group !== undefined) {
      group.set(key, stored);
      return;
    }
    names.set(resourceName, new Map([[key, stored]]));
    if (patternType === "prefixed") this.#countPrefixLength(resourceType, resourceName.length, 1);
  }

  #delete(key: string, binding: AclBinding): void {
    const { resourceType, patternType, resourceName } = binding;
    const names = this.#names(resourceType, patternType);
    const group = names.get(resourceName);
    if (group === undefined) return;
    group.delete(key);
    if (group.size > 0) return;
    names.delete(resourceName);
    if (patternType === "prefixed") this.#countPrefixLength(resourceType, resourceName.length, -1);
  }

  #countPrefixLength(resourceType: ResourceType, length: number, delta: 1 | -1): void {
    const lengths = this.#byType[resourceType].prefixLengths;
    const count = (lengths.get(length) ?? 0) + delta;
    if (count > 0) lengths.set(length, count);
    else lengths.delete(length);
  }
}
