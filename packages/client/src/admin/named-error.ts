// An admin call touches many topics, partitions or groups; its errors say which one failed, keeping the code.

import { BrookError } from "@brook/protocol";

/** The same error, its message prefixed with what it is about (`topic "t"`, `group "g"`, `t-0`). */
export function namedError(error: BrookError, subject: string): BrookError {
  return new BrookError(error.code, `${subject}: ${stripCode(error)}`, { cause: error });
}

/** An error's message without the leading "CODE: ". */
export function stripCode(error: BrookError): string {
  return error.message.startsWith(`${error.code}: `)
    ? error.message.slice(error.code.length + 2)
    : error.message;
}
