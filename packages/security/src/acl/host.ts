// Hosts in ACLs are IP addresses, compared with the client's address. Kafka compares the two as
// strings, which makes "::1" and "0:0:0:0:0:0:0:1" different hosts, and Node reports an IPv4 client
// of a dual-stack listener as "::ffff:10.0.0.1" where an ACL says "10.0.0.1". So both sides are
// compared in one canonical form: IPv4 dotted decimal, an IPv4-mapped IPv6 address as its IPv4,
// any other IPv6 address as RFC 5952 has it (lowercase, no leading zeros, the longest run of zero
// groups as "::").

import { WILDCARD_HOST } from "./model.js";

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => (IPV4_PART.test(part) ? Number(part) : Number.NaN));
  return bytes.every((byte) => byte <= 255) ? bytes : undefined;
}

/** Colon-separated hex groups; if `endsAddress`, the last may be a dotted IPv4 (two groups). */
function parseGroups(text: string, endsAddress: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (const [index, part] of parts.entries()) {
    const last = endsAddress && index === parts.length - 1;
    const ipv4 = last && part.includes(".") ? parseIpv4(part) : undefined;
    if (ipv4 !== undefined) {
      groups.push((ipv4[0] << 8) | ipv4[1], (ipv4[2] << 8) | ipv4[3]);
    } else if (IPV6_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** The eight 16-bit groups of an IPv6 address (no zone), or undefined. */
function parseIpv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1], true) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  // "::" stands for at least one zero group.
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : undefined;
}

function isIpv4Mapped(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}

/** RFC 5952: the first longest run of two or more zero groups becomes "::". */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}`;
}

/** The canonical text of an IP address literal, or undefined if `text` is not one (zones are not). */
export function canonicalIp(text: string): string | undefined {
  if (!text.includes(":")) return parseIpv4(text)?.join(".");
  const groups = parseIpv6(text);
  if (groups === undefined) return undefined;
  if (isIpv4Mapped(groups)) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join(".");
  }
  return formatIpv6(groups);
}

/**
 * A client's address as ACLs are compared with it: canonical if it is an IP address (an IPv6 zone,
 * "%eth0", is dropped: ACLs cannot name one), unchanged otherwise, so it then matches only a "*" ACL.
 */
export function canonicalHost(host: string): string {
  if (host === WILDCARD_HOST) return host;
  const zone = host.indexOf("%");
  const address = zone >= 0 ? host.slice(0, zone) : host;
  return canonicalIp(address) ?? host;
}
