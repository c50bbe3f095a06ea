// An admin call touches many topics, partitions or groups; its errors say which one failed, keeping the code.

import { BrookError } from "@brook/protocol";

/** The same error, its message prefixed with what it is about (`topic "t"`, `group "g"`, `t-0`). */
export function namedError(error: BrookError, subject: string): BrookError {
  return new BrookError(error.code, `${subject}: ${error.detail}`, { cause: error });
}
