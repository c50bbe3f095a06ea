// Task 0's checkpoints: it follows the offset-syncs topic (from its beginning) into an OffsetTranslator,
// and every emit.checkpoints.interval.ms translates the source groups' committed offsets and commits
// them to the same groups in the target, on the renamed topics: only to a group with no members there,
// and only forward. The decisions are plans.ts's; this file makes the calls.

import { type Admin, type Brook, BrookError, type Consumer, type Logger } from "@brook/client";
import { mirrorLimits } from "./config.js";
import type { SourceGroups } from "./mirror-source.js";
import type { MirrorNames } from "./names.js";
import { decodeOffsetSync } from "./offset-syncs.js";
import { OffsetTranslator } from "./offset-translation.js";
import { forwardOnly, translateGroupOffsets } from "./plans.js";

export interface CheckpointerOptions {
  source: SourceGroups;
  target: Brook;
  targetAdmin: Admin;
  names: MirrorNames;
  offsetSyncsTopic: string;
  syncGroupOffsets: boolean;
  logger: Logger;
  /** Called with the number of group-partition offsets translated by each checkpoint. */
  onCheckpoints(count: number): void;
}

export class Checkpointer {
  private readonly translator = new OffsetTranslator();
  private readonly syncs: Consumer;
  private following: Promise<void> | undefined;

  constructor(private readonly options: CheckpointerOptions) {
    this.syncs = options.target.consumer({ fromBeginning: true, maxWaitMs: mirrorLimits.fetchMaxWaitMs });
  }

  /** Starts following the offset-syncs topic (which must exist). */
  async start(): Promise<void> {
    await this.syncs.assign([{ topic: this.options.offsetSyncsTopic, fromBeginning: true }]);
    this.following = this.follow();
  }

  /** One round: every matching source group's offsets translated and, if enabled, committed. */
  async checkpoint(): Promise<void> {
    const { source, names } = this.options;
    const groups = (await source.listGroups()).filter((groupId) => names.mirrorsGroup(groupId));
    for (const groupId of groups) {
      const translated = translateGroupOffsets(await source.fetchOffsets(groupId), names, this.translator);
      if (translated.length === 0) continue;
      this.options.onCheckpoints(translated.length);
      if (this.options.syncGroupOffsets) await this.commit(groupId, translated);
    }
  }

  async stop(): Promise<void> {
    await this.syncs.close();
    await this.following;
  }

  private async follow(): Promise<void> {
    const prefix = `${this.options.names.alias}:`;
    try {
      for await (const message of this.syncs) {
        if (!message.key?.toString().startsWith(prefix)) continue;
        const sync = decodeOffsetSync(message.value);
        if (sync !== undefined) this.translator.add(sync);
      }
    } catch (error) {
      if (!(error instanceof BrookError && error.code === "CLIENT_CLOSED")) {
        this.options.logger.error({ error }, "brook-mirror stopped following the offset syncs");
      }
    }
  }

  /** Commits what is ahead of the target group's offsets, while the target group has no members. */
  private async commit(groupId: string, translated: Parameters<typeof forwardOnly>[0]): Promise<void> {
    const { targetAdmin, target, logger } = this.options;
    if (await hasMembers(targetAdmin, groupId)) return;
    const offsets = forwardOnly(translated, await targetAdmin.fetchOffsets({ groupId }));
    if (offsets.length === 0) return;
    // A consumer that assigns rather than subscribes commits outside the group, as an admin would; the
    // coordinator refuses it (and nothing moves) if a member joined since the check above.
    const committer = target.consumer({ groupId, autoCommit: false });
    try {
      await committer.commitOffsets([...offsets]);
      logger.debug({ groupId, offsets }, "brook-mirror committed translated offsets");
    } catch (error) {
      logger.info(
        { groupId, error },
        "brook-mirror could not commit translated offsets; next checkpoint tries again",
      );
    } finally {
      await committer.close();
    }
  }
}

async function hasMembers(admin: Admin, groupId: string): Promise<boolean> {
  try {
    return (await admin.describeGroup(groupId)).members.length > 0;
  } catch (error) {
    if (error instanceof BrookError && error.code === "GROUP_ID_NOT_FOUND") return false;
    throw error;
  }
}
