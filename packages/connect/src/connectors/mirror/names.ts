// Which topics and groups the mirror takes, and what it calls them in the target: MirrorMaker 2's
// DefaultReplicationPolicy (`<alias><separator><topic>`) and its topic and group filters. Pure.

import type { MirrorConfig } from "./config.js";

export interface MirrorNames {
  alias: string;
  /** The target's name for a source topic. */
  targetTopic(sourceTopic: string): string;
  /** Whether a source topic is mirrored: matched by `topics`, not by `topics.exclude`, not internal or ours. */
  mirrorsTopic(sourceTopic: string): boolean;
  /** Whether a source group's offsets are translated. */
  mirrorsGroup(groupId: string): boolean;
}

export function mirrorNames(config: MirrorConfig): MirrorNames {
  const alias = config["source.cluster.alias"];
  const separator = config["replication.policy.separator"];
  const topics = wholeMatch(config.topics);
  const topicsExcluded = wholeMatch(config["topics.exclude"] ?? []);
  const groups = wholeMatch(config.groups);
  const groupsExcluded = wholeMatch(config["groups.exclude"]);
  const ownPrefix = `${alias}${separator}`;
  return {
    alias,
    targetTopic: (sourceTopic) => `${ownPrefix}${sourceTopic}`,
    mirrorsTopic: (topic) =>
      !topic.startsWith("__") &&
      // A topic named as this mirror names its copies is one: mirroring it would mirror it again, forever.
      !topic.startsWith(ownPrefix) &&
      topics(topic) &&
      !topicsExcluded(topic),
    mirrorsGroup: (groupId) => groups(groupId) && !groupsExcluded(groupId),
  };
}

/** Whether any of the regular expressions matches the whole name; none given matches nothing. */
function wholeMatch(patterns: readonly string[]): (name: string) => boolean {
  const compiled = patterns.map((pattern) => new RegExp(`^(?:${pattern.trim()})$`));
  return (name) => compiled.some((pattern) => pattern.test(name));
}
