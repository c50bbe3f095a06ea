// Topic names follow Kafka's rules, so a topic can later be served over the
// Kafka protocol under the same name, and names are safe as directory names.

import { BrookError } from "@brook/protocol";

export const topicNameLengthMax = 249;
const legalName = /^[a-zA-Z0-9._-]+$/;

export function validateTopicName(name: string): void {
  if (
    name.length === 0 ||
    name.length > topicNameLengthMax ||
    name === "." ||
    name === ".." ||
    !legalName.test(name)
  ) {
    throw new BrookError(
      "INVALID_TOPIC",
      `invalid topic name '${name}': use 1-${topicNameLengthMax} characters of ASCII letters, digits, '.', '_' and '-' (not '.' or '..')`,
    );
  }
}
