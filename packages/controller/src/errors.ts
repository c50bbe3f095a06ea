// The error a write gets on a controller that is not the active one. It names
// the active controller twice: as `activeControllerId` for a caller in this
// process, and in the message, which is all that crosses gRPC, in a fixed
// form that `activeControllerIdOf` reads back, so a broker can forward.

import { BrookError } from "@brook/protocol";

const activeControllerPattern = /the active controller is node (\d+)/;

export class NotActiveControllerError extends BrookError {
  /** The active controller as this node knows it; undefined while none is known. */
  readonly activeControllerId: number | undefined;

  constructor(nodeId: number, activeControllerId: number | undefined, options?: { cause?: unknown }) {
    const where =
      activeControllerId === undefined
        ? "no active controller is known yet; retry shortly"
        : `the active controller is node ${activeControllerId}`;
    super("NOT_CONTROLLER", `node ${nodeId} is not the active controller; ${where}`, options);
    this.name = "NotActiveControllerError";
    this.activeControllerId = activeControllerId;
  }
}

/**
 * The active controller a NOT_CONTROLLER error names: from the error itself
 * in-process, from its message once it came over gRPC; undefined when it
 * names none (or is another error).
 */
export function activeControllerIdOf(error: unknown): number | undefined {
  if (error instanceof NotActiveControllerError) return error.activeControllerId;
  if (!(error instanceof BrookError) || error.code !== "NOT_CONTROLLER") return undefined;
  const match = activeControllerPattern.exec(error.message);
  return match ? Number(match[1]) : undefined;
}
