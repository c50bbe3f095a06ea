// The dictionary's contract, shared by service.ts and ask.ts: its two topics, the header that ties a
// reply to its request, and the JSON of each message.
import type { Brook, ConsumedMessage } from "@brook/client";
import { ensureTopics } from "../shared/brook.js";

export const requestTopic = "dictionary-requests";
export const replyTopic = "dictionary-replies";
/** Set by the asker on its request, copied by the service onto the reply. */
export const correlationHeader = "correlation-id";

/** The value of a request record; its key is the nickname, so one user's requests stay in order. */
export interface DictionaryRequest {
  nickname: string;
  word: string;
  /** A language code of words.json: en, fr, es. */
  language: string;
}

/** The value of a reply record: a definition, or an error that says why there is none. */
export interface DictionaryReply {
  word: string;
  language: string;
  definition?: string;
  error?: string;
}

/** Both topics, three partitions each: up to three services share the requests. */
export function ensureDictionaryTopics(brook: Brook): Promise<void> {
  return ensureTopics(brook, [
    { topic: requestTopic, numPartitions: 3 },
    { topic: replyTopic, numPartitions: 3 },
  ]);
}

/** A header of a consumed record as a string (the first value when repeated), or undefined. */
export function header(message: ConsumedMessage, name: string): string | undefined {
  const value = message.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.toString() ?? undefined;
}
