// ApiVersions: which APIs and versions this listener serves: exactly those the codec describes, which
// are exactly those the handlers answer (dispatch.ts's switch covers every described api).

import { supportedApiVersions } from "../codec/apis.js";
import { KafkaErrorCode } from "../error-codes.js";
import type { ApiVersionsResponseInput } from "../generated/messages.js";

export function apiVersions(): ApiVersionsResponseInput {
  return { errorCode: KafkaErrorCode.NONE, apiKeys: supportedApiVersions(), throttleTimeMs: 0 };
}
