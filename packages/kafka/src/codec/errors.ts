// The codec's typed failures. Decoding bytes from the wire throws only KafkaDecodeError, whatever
// the bytes; encoding a value the chosen version cannot carry throws KafkaEncodeError.

/** Which message a failure happened in; null until the api and version are known. */
interface MessagePlace {
  apiKey: number | null;
  apiVersion: number | null;
  what: string;
}

function placeText(place: MessagePlace): string {
  const api = place.apiKey === null ? "" : ` (api ${place.apiKey} v${place.apiVersion})`;
  return `${place.what}${api}`;
}

abstract class KafkaCodecError extends Error {
  apiKey: number | null = null;
  apiVersion: number | null = null;
  /** The field the failure happened in, outermost first: `topics[2].partitions[0].records`. */
  path = "";
  readonly reason: string;
  private what = "message";

  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }

  /** Prefixes the field the failure happened in; struct and array codecs call this as it unwinds. */
  within(segment: string): this {
    const joiner = this.path === "" || this.path.startsWith("[") ? "" : ".";
    this.path = `${segment}${joiner}${this.path}`;
    this.message = this.describe();
    return this;
  }

  /** Names the message once the failure reaches the function that knows it. */
  inMessage(what: string, apiKey: number | null, apiVersion: number | null): this {
    this.what = what;
    this.apiKey = apiKey;
    this.apiVersion = apiVersion;
    this.message = this.describe();
    return this;
  }

  protected abstract describe(): string;

  protected placeAndPath(): string {
    const place = placeText({ apiKey: this.apiKey, apiVersion: this.apiVersion, what: this.what });
    return this.path === "" ? place : `${place}, field ${this.path}`;
  }
}

/** Bytes that are not a valid encoding: truncated, a length beyond the bytes present, a bad tag... */
export class KafkaDecodeError extends KafkaCodecError {
  /** Position in the decoded buffer where the fault was found. */
  readonly offset: number;

  constructor(reason: string, offset: number) {
    super(reason);
    this.name = "KafkaDecodeError";
    this.offset = offset;
    this.message = this.describe();
  }

  protected describe(): string {
    return `cannot decode ${this.placeAndPath()} at byte ${this.offset}: ${this.reason}`;
  }
}

/** A value the chosen version cannot carry (a null where the version has no null, a bad uuid...). */
export class KafkaEncodeError extends KafkaCodecError {
  constructor(reason: string) {
    super(reason);
    this.name = "KafkaEncodeError";
    this.message = this.describe();
  }

  protected describe(): string {
    return `cannot encode ${this.placeAndPath()}: ${this.reason}`;
  }
}

/** Names `segment` in the path of a codec error passing through a struct or array codec. */
export function withPath(error: unknown, segment: string): unknown {
  return error instanceof KafkaCodecError ? error.within(segment) : error;
}

/** Ties a codec error to its message; other errors (programming faults) pass untouched. */
export function inMessage(
  error: unknown,
  what: string,
  apiKey: number | null,
  apiVersion: number | null,
): unknown {
  return error instanceof KafkaCodecError ? error.inMessage(what, apiKey, apiVersion) : error;
}
