// SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) the way Kafka speaks it, so that kafkajs,
// librdkafka and the Java client log in to Brook exactly as they do to a Kafka broker. Pure: bytes in,
// bytes out, no sockets; the Kafka listener wraps these messages in SaslAuthenticate and the gRPC
// service in its own frames.
//
// Kafka's dialect, which this file follows:
// - no SASLprep: a password is its UTF-8 bytes as they are (ScramFormatter.normalize);
// - iterations 4096..16384 (ScramMechanism's bounds);
// - server-first is exactly `r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>`, nothing after
//   (kafkajs cannot parse any other attribute there);
// - an authzid (`a=`), when sent, must equal the username;
// - the only client-first extension Kafka acts on is `tokenauth` (delegation tokens), which Brook refuses;
//   other extensions are ignored.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];
/** Kafka's bounds for a credential's iteration count (ScramMechanism.minIterations / maxIterations). */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;
/** No honest SCRAM message comes near this; anything longer is refused before it is parsed. */
export const SCRAM_MAX_MESSAGE_BYTES = 4096;

export function isScramMechanism(s: unknown): s is ScramMechanism {
  return s === "SCRAM-SHA-256" || s === "SCRAM-SHA-512";
}

/**
 * What a server stores per user and mechanism. It cannot be turned back into the password, and it
 * cannot be used to log in: the client proof needs ClientKey, of which storedKey is only the hash.
 */
export interface ScramCredential {
  mechanism: ScramMechanism;
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/**
 * - malformed: the message does not follow the grammar (the text says what was wrong);
 * - unsupported: valid SCRAM that Brook does not do (channel binding, `m=`, delegation tokens, iterations
 *   outside Kafka's range);
 * - authentication-failed: wrong password, unknown user, or a final message that belongs to another
 *   exchange. The text never says whether the user exists;
 * - authzid-mismatch: the client asked to act as someone other than its username (safe to show the
 *   client: it depends only on what the client sent);
 * - out-of-order: a step called twice, or after the exchange ended.
 */
export type ScramErrorReason =
  | "malformed"
  | "unsupported"
  | "authentication-failed"
  | "authzid-mismatch"
  | "out-of-order";

export class ScramError extends Error {
  override readonly name = "ScramError";
  constructor(
    readonly reason: ScramErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** The one message for every credential failure, whether or not the user exists. */
export const SCRAM_AUTHENTICATION_FAILED_MESSAGE = "Authentication failed: invalid username or password";
/** Kafka's own text for this case, which Kafka (unlike its other SCRAM errors) shows to the client. */
export const SCRAM_AUTHZID_MISMATCH_MESSAGE =
  "Authentication failed: Client requested an authorization id that is different from username";

// ---------------------------------------------------------------------------------------------------
// The primitives of RFC 5802 §3.

interface Digest {
  hash: "sha256" | "sha512";
  bytes: number;
}

const DIGESTS: Record<ScramMechanism, Digest> = {
  "SCRAM-SHA-256": { hash: "sha256", bytes: 32 },
  "SCRAM-SHA-512": { hash: "sha512", bytes: 64 },
};

function hmac(digest: Digest, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(digest.hash, key).update(data).digest();
}

function h(digest: Digest, data: Buffer): Buffer {
  return createHash(digest.hash).update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** Hi() of RFC 5802 is PBKDF2 with HMAC as PRF and one block of output. */
function saltedPassword(digest: Digest, password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, digest.bytes, digest.hash);
}

function checkIterations(iterations: number, whose: string): void {
  if (
    !Number.isSafeInteger(iterations) ||
    iterations < SCRAM_MIN_ITERATIONS ||
    iterations > SCRAM_MAX_ITERATIONS
  ) {
    throw new ScramError(
      "unsupported",
      `${whose} iteration count ${iterations} is outside Kafka's range ${SCRAM_MIN_ITERATIONS}..${SCRAM_MAX_ITERATIONS}`,
    );
  }
}

const MAX_SALT_BYTES = 1024;

function checkSalt(salt: Buffer): void {
  if (salt.length === 0 || salt.length > MAX_SALT_BYTES) {
    throw new ScramError("malformed", `a salt must be 1..${MAX_SALT_BYTES} bytes, not ${salt.length}`);
  }
}

/** A lone UTF-16 surrogate has no UTF-8 form: Buffer.from would silently make it U+FFFD. */
function checkWellFormed(s: string, what: string): void {
  if (/\p{Cs}/u.test(s)) throw new ScramError("malformed", `${what} contains a lone UTF-16 surrogate`);
}

/**
 * The credential for a salted password. This is what Kafka's AlterUserScramCredentials carries (the
 * admin client salts and hashes the password itself), so the broker can store an upsertion as is.
 */
export function scramCredentialFromSaltedPassword(
  mechanism: ScramMechanism,
  salt: Buffer,
  iterations: number,
  salted: Buffer,
): ScramCredential {
  const digest = DIGESTS[mechanism];
  checkIterations(iterations, "the credential's");
  checkSalt(salt);
  if (salted.length !== digest.bytes) {
    throw new ScramError(
      "malformed",
      `a ${mechanism} salted password is ${digest.bytes} bytes, not ${salted.length}`,
    );
  }
  const clientKey = hmac(digest, salted, "Client Key");
  return {
    mechanism,
    salt: Buffer.from(salt),
    iterations,
    storedKey: h(digest, clientKey),
    serverKey: hmac(digest, salted, "Server Key"),
  };
}

/** The credential to store for a password; by default a random 32-byte salt and 4096 iterations. */
export function scramCredential(
  mechanism: ScramMechanism,
  password: string,
  options: { salt?: Buffer; iterations?: number } = {},
): ScramCredential {
  const iterations = options.iterations ?? SCRAM_MIN_ITERATIONS;
  const salt = options.salt ?? randomBytes(32);
  checkIterations(iterations, "the credential's");
  checkSalt(salt);
  checkWellFormed(password, "the password");
  const salted = saltedPassword(DIGESTS[mechanism], password, salt, iterations);
  return scramCredentialFromSaltedPassword(mechanism, salt, iterations, salted);
}

// ---------------------------------------------------------------------------------------------------
// Message grammar (RFC 5802 §7), checked by hand: every rejection names the part that was wrong.

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The text of a message, after the checks every message shares. */
function messageText(message: Uint8Array, what: string): string {
  if (message.length === 0) throw new ScramError("malformed", `${what} is empty`);
  if (message.length > SCRAM_MAX_MESSAGE_BYTES) {
    throw new ScramError(
      "malformed",
      `${what} is ${message.length} bytes, more than the ${SCRAM_MAX_MESSAGE_BYTES} allowed`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(message);
  } catch {
    throw new ScramError("malformed", `${what} is not valid UTF-8`);
  }
  if (text.includes("\0")) throw new ScramError("malformed", `${what} contains a NUL character`);
  return text;
}

interface Attribute {
  name: string;
  value: string;
}

/** `name=value`; the name is one letter for SCRAM's own attributes, longer for Kafka's extensions. */
function attribute(part: string, what: string): Attribute {
  const eq = part.indexOf("=");
  const name = eq < 0 ? "" : part.slice(0, eq);
  if (!/^[A-Za-z]{1,64}$/.test(name)) {
    throw new ScramError("malformed", `${what}: '${clip(part)}' is not an attribute of the form name=value`);
  }
  return { name, value: part.slice(eq + 1) };
}

/** The attributes of a comma-separated list. */
function attributes(text: string, what: string): Attribute[] {
  return text.split(",").map((part) => attribute(part, what));
}

function expectAttribute(attr: Attribute | undefined, name: string, what: string): string {
  if (attr === undefined) throw new ScramError("malformed", `${what}: attribute ${name}= is missing`);
  if (attr.name !== name) {
    throw new ScramError("malformed", `${what}: expected attribute ${name}= but found ${attr.name}=`);
  }
  if (attr.value === "") throw new ScramError("malformed", `${what}: attribute ${name}= is empty`);
  return attr.value;
}

// SCRAM's own one-letter attributes. Appearing again among the extensions, one is a duplicate or out
// of place, which a parser that kept the last value would let a client exploit.
const SCRAM_ATTRIBUTES = new Set(["a", "c", "e", "i", "m", "n", "p", "r", "s", "v"]);

/** Extensions after the fixed attributes: validated, returned by name. `m=` is never accepted. */
function extensions(attrs: Attribute[], what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const { name, value } of attrs) {
    if (name === "m") throw mandatoryExtension(what);
    if (SCRAM_ATTRIBUTES.has(name)) {
      throw new ScramError("malformed", `${what}: attribute ${name}= is repeated or out of place`);
    }
    if (value === "") throw new ScramError("malformed", `${what}: extension ${name}= has no value`);
    if (out.has(name)) throw new ScramError("malformed", `${what}: extension ${name}= is repeated`);
    out.set(name, value);
  }
  return out;
}

function mandatoryExtension(what: string): ScramError {
  // RFC 5802 reserves m= for extensions the receiver must understand; none is defined, so it must fail.
  return new ScramError("unsupported", `${what}: mandatory extensions (m=) are not supported`);
}

const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

function checkNonce(nonce: string, what: string): void {
  if (!NONCE.test(nonce)) {
    throw new ScramError("malformed", `${what}: the nonce must be printable ASCII without ','`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function base64(value: string, what: string): Buffer {
  if (!BASE64.test(value)) throw new ScramError("malformed", `${what} is not valid base64`);
  return Buffer.from(value, "base64");
}

/** RFC 5802 §5.1: ',' and '=' travel as =2C and =3D; any other '=' must fail the authentication. */
function decodeSaslName(saslName: string, what: string): string {
  if (/=(?!2C|3D)/.test(saslName)) {
    throw new ScramError("malformed", `${what}: '=' may only appear as =2C or =3D`);
  }
  return saslName.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

function encodeSaslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

/** Input echoed into an error message is cut short, so a 4 KiB message does not become a 4 KiB log line. */
function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

interface ClientFirst {
  gs2Header: string;
  username: string;
  clientNonce: string;
  bare: string;
}

function parseGs2Header(text: string): { gs2Header: string; authzid: string | undefined } {
  const what = "client-first";
  const flagEnd = text.indexOf(",");
  const authzidEnd = flagEnd < 0 ? -1 : text.indexOf(",", flagEnd + 1);
  if (authzidEnd < 0) throw new ScramError("malformed", `${what}: the gs2 header is incomplete`);
  const flag = text.slice(0, flagEnd);
  if (flag.startsWith("p=")) {
    throw new ScramError(
      "unsupported",
      `${what}: channel binding (${clip(flag)}) is not supported; use 'n,,'`,
    );
  }
  if (flag !== "n" && flag !== "y") {
    throw new ScramError("malformed", `${what}: the gs2 header must start with 'n,', 'y,' or 'p='`);
  }
  const authzidPart = text.slice(flagEnd + 1, authzidEnd);
  let authzid: string | undefined;
  if (authzidPart !== "") {
    if (!authzidPart.startsWith("a=") || authzidPart.length === 2) {
      throw new ScramError("malformed", `${what}: the authzid must be empty or a=<name>`);
    }
    authzid = decodeSaslName(authzidPart.slice(2), `${what} authzid`);
  }
  return { gs2Header: text.slice(0, authzidEnd + 1), authzid };
}

function parseClientFirst(message: Uint8Array): ClientFirst {
  const what = "client-first";
  const text = messageText(message, what);
  const { gs2Header, authzid } = parseGs2Header(text);
  const bare = text.slice(gs2Header.length);
  const attrs = attributes(bare, what);
  if (attrs[0]?.name === "m") throw mandatoryExtension(what);
  const username = decodeSaslName(expectAttribute(attrs[0], "n", what), `${what} username`);
  const clientNonce = expectAttribute(attrs[1], "r", what);
  checkNonce(clientNonce, what);
  const ext = extensions(attrs.slice(2), what);
  if (ext.get("tokenauth")?.toLowerCase() === "true") {
    throw new ScramError("unsupported", `${what}: delegation tokens (tokenauth=true) are not supported`);
  }
  // Checked only after the whole message parsed, so that a malformed message is reported as such.
  if (authzid !== undefined && authzid !== username) {
    throw new ScramError("authzid-mismatch", SCRAM_AUTHZID_MISMATCH_MESSAGE);
  }
  return { gs2Header, username, clientNonce, bare };
}

interface ClientFinal {
  channelBinding: string;
  nonce: string;
  proof: Buffer;
  withoutProof: string;
}

function parseClientFinal(message: Uint8Array): ClientFinal {
  const what = "client-final";
  const text = messageText(message, what);
  const attrs = attributes(text, what);
  const channelBinding = expectAttribute(attrs[0], "c", what);
  const nonce = expectAttribute(attrs[1], "r", what);
  checkNonce(nonce, what);
  if (attrs.length < 3) throw new ScramError("malformed", `${what}: attribute p= is missing`);
  const proof = base64(expectAttribute(attrs.at(-1), "p", what), `${what}: the proof`);
  extensions(attrs.slice(2, -1), what);
  const withoutProof = text.slice(0, text.lastIndexOf(",p="));
  return { channelBinding, nonce, proof, withoutProof };
}

// ---------------------------------------------------------------------------------------------------
// Server.

const PROCESS_SECRET = randomBytes(32);

/**
 * What an unknown user gets instead of a credential: stable for the same name (a second attempt must see
 * the same salt, as it would for a real user), unpredictable without the secret, and never accepted
 * (handleClientFinal fails it whatever the proof).
 */
function unknownUserCredential(mechanism: ScramMechanism, username: string, secret: Buffer): ScramCredential {
  const digest = DIGESTS[mechanism];
  const derive = (label: string, d: Digest) =>
    createHmac(d.hash, secret).update(`${mechanism}\0${label}\0`).update(username, "utf8").digest();
  return {
    mechanism,
    // 32 bytes, like scramCredential's default salt, so its length gives nothing away.
    salt: derive("salt", DIGESTS["SCRAM-SHA-256"]),
    iterations: SCRAM_MIN_ITERATIONS,
    storedKey: derive("stored-key", digest),
    serverKey: derive("server-key", digest),
  };
}

/** 144 random bits (Kafka uses 130), base64url so that it is printable and has no ','. */
function randomNonce(): string {
  return randomBytes(18).toString("base64url");
}

interface ServerExchange {
  first: ClientFirst;
  credential: ScramCredential;
  knownUser: boolean;
  serverFirst: string;
  nonce: string;
}

type ServerState =
  | { step: "client-first" }
  | { step: "client-final"; exchange: ServerExchange }
  | { step: "ended" };

/**
 * One authentication attempt, server side: handleClientFirst, then handleClientFinal. Any error ends the
 * attempt; a new attempt needs a new ScramServer (so nothing from a failed exchange can be reused).
 */
export class ScramServer {
  private state: ServerState = { step: "client-first" };
  private readonly digest: Digest;

  /**
   * @param lookup the stored credential for a username (already unescaped), or undefined if there is none.
   * @param nonce the server's part of the nonce; random by default.
   * @param unknownUserSecret keys the made-up credentials of unknown users. Per process by default, so
   *   an unknown user's salt differs between brokers and across restarts; give every broker the same
   *   secret to make that invisible too.
   */
  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: (username: string) => ScramCredential | undefined,
    private readonly nonce: () => string = randomNonce,
    private readonly unknownUserSecret: Buffer = PROCESS_SECRET,
  ) {
    this.digest = DIGESTS[mechanism];
  }

  handleClientFirst(message: Uint8Array): Buffer {
    if (this.state.step !== "client-first") throw outOfOrder("client-first", this.state.step);
    this.state = { step: "ended" };
    const first = parseClientFirst(message);
    const found = this.lookup(first.username);
    const credential = found ?? unknownUserCredential(this.mechanism, first.username, this.unknownUserSecret);
    this.checkCredential(credential);
    const nonce = first.clientNonce + this.serverNonce();
    const serverFirst = `r=${nonce},s=${credential.salt.toString("base64")},i=${credential.iterations}`;
    this.state = {
      step: "client-final",
      exchange: { first, credential, knownUser: found !== undefined, serverFirst, nonce },
    };
    return Buffer.from(serverFirst, "utf8");
  }

  handleClientFinal(message: Uint8Array): { serverFinal: Buffer; username: string } {
    if (this.state.step !== "client-final") throw outOfOrder("client-final", this.state.step);
    const { exchange } = this.state;
    this.state = { step: "ended" };
    const final = parseClientFinal(message);
    const expectedBinding = Buffer.from(exchange.first.gs2Header, "utf8").toString("base64");
    if (final.channelBinding !== expectedBinding) {
      throw new ScramError(
        "malformed",
        `client-final: c= must be the base64 of the gs2 header '${clip(exchange.first.gs2Header)}'`,
      );
    }
    if (!this.nonceMatches(final.nonce, exchange)) {
      throw new ScramError(
        "authentication-failed",
        "client-final: the nonce is not the one this server issued",
      );
    }
    if (final.proof.length !== this.digest.bytes) {
      throw new ScramError(
        "malformed",
        `client-final: a ${this.mechanism} proof is ${this.digest.bytes} bytes, not ${final.proof.length}`,
      );
    }
    const authMessage = `${exchange.first.bare},${exchange.serverFirst},${final.withoutProof}`;
    const { storedKey, serverKey } = exchange.credential;
    const clientKey = xor(final.proof, hmac(this.digest, storedKey, authMessage));
    // Compare first, then look at knownUser, so an unknown user costs the same work as a wrong password.
    const proofMatches = constantTimeEqual(h(this.digest, clientKey), storedKey);
    if (!proofMatches || !exchange.knownUser) {
      throw new ScramError("authentication-failed", SCRAM_AUTHENTICATION_FAILED_MESSAGE);
    }
    const serverSignature = hmac(this.digest, serverKey, authMessage);
    return {
      serverFinal: Buffer.from(`v=${serverSignature.toString("base64")}`, "utf8"),
      username: exchange.first.username,
    };
  }

  /**
   * The nonce must be the one issued. librdkafka before 2.6.1 sends its client nonce twice
   * (`<client nonce><client nonce><server nonce>`, librdkafka#4895), which Kafka 3.x accepted; that exact
   * form is accepted too, since it still holds the fresh server nonce and the proof signs it.
   */
  private nonceMatches(nonce: string, exchange: ServerExchange): boolean {
    return nonce === exchange.nonce || nonce === exchange.first.clientNonce + exchange.nonce;
  }

  private serverNonce(): string {
    const nonce = this.nonce();
    // A bad nonce here is a bug in the caller, not the client's fault: a plain Error, not a ScramError.
    if (!NONCE.test(nonce)) throw new Error("the server nonce must be printable ASCII without ','");
    return nonce;
  }

  private checkCredential(credential: ScramCredential): void {
    // A credential that cannot match this exchange is a bug in the lookup, not an authentication failure.
    if (
      credential.mechanism !== this.mechanism ||
      credential.storedKey.length !== this.digest.bytes ||
      credential.serverKey.length !== this.digest.bytes
    ) {
      throw new Error(`the lookup returned a credential that is not a ${this.mechanism} credential`);
    }
    if (credential.iterations < SCRAM_MIN_ITERATIONS || credential.iterations > SCRAM_MAX_ITERATIONS) {
      throw new Error(`the lookup returned a credential with ${credential.iterations} iterations`);
    }
  }
}

function outOfOrder(step: string, state: string): ScramError {
  const now = state === "ended" ? "the exchange has ended" : `the exchange is waiting for ${state}`;
  return new ScramError("out-of-order", `${step} is out of order: ${now}`);
}

// ---------------------------------------------------------------------------------------------------
// Client (Brook's SDK, and the tests).

type ClientState =
  | { step: "client-first" }
  | { step: "server-first"; bare: string }
  | { step: "server-final"; serverSignature: Buffer }
  | { step: "ended" };

/** One authentication attempt, client side: clientFirst, handleServerFirst, verifyServerFinal. */
export class ScramClient {
  private state: ClientState = { step: "client-first" };
  private readonly digest: Digest;
  private readonly gs2Header = "n,,";

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly username: string,
    private readonly password: string,
    private readonly nonce: string = randomNonce(),
  ) {
    this.digest = DIGESTS[mechanism];
    if (username === "") throw new ScramError("malformed", "the username is empty");
    if (username.includes("\0")) throw new ScramError("malformed", "the username contains a NUL character");
    checkWellFormed(username, "the username");
    checkWellFormed(password, "the password");
    checkNonce(nonce, "client");
    // The server would refuse a longer client-first anyway; failing here says why.
    if (Buffer.byteLength(`n,,n=${encodeSaslName(username)},r=${nonce}`) > SCRAM_MAX_MESSAGE_BYTES) {
      throw new ScramError(
        "malformed",
        `the client-first message would exceed ${SCRAM_MAX_MESSAGE_BYTES} bytes`,
      );
    }
  }

  clientFirst(): Buffer {
    if (this.state.step !== "client-first") throw outOfOrder("clientFirst", this.state.step);
    const bare = `n=${encodeSaslName(this.username)},r=${this.nonce}`;
    this.state = { step: "server-first", bare };
    return Buffer.from(this.gs2Header + bare, "utf8");
  }

  /** Answers server-first with client-final. */
  handleServerFirst(message: Uint8Array): Buffer {
    if (this.state.step !== "server-first") throw outOfOrder("handleServerFirst", this.state.step);
    const { bare } = this.state;
    this.state = { step: "ended" };
    const what = "server-first";
    const serverFirst = messageText(message, what);
    const { nonce, salt, iterations } = this.parseServerFirst(serverFirst);
    const withoutProof = `c=${Buffer.from(this.gs2Header).toString("base64")},r=${nonce}`;
    const authMessage = `${bare},${serverFirst},${withoutProof}`;
    const salted = saltedPassword(this.digest, this.password, salt, iterations);
    const clientKey = hmac(this.digest, salted, "Client Key");
    const clientSignature = hmac(this.digest, h(this.digest, clientKey), authMessage);
    const serverSignature = hmac(this.digest, hmac(this.digest, salted, "Server Key"), authMessage);
    this.state = { step: "server-final", serverSignature };
    return Buffer.from(`${withoutProof},p=${xor(clientKey, clientSignature).toString("base64")}`, "utf8");
  }

  /** Throws unless the server proved it knows the credential (and so is not an impostor). */
  verifyServerFinal(message: Uint8Array): void {
    if (this.state.step !== "server-final") throw outOfOrder("verifyServerFinal", this.state.step);
    const { serverSignature } = this.state;
    this.state = { step: "ended" };
    const what = "server-final";
    const attrs = attributes(messageText(message, what), what);
    if (attrs[0]?.name === "e") {
      throw new ScramError(
        "authentication-failed",
        `the server refused the authentication: ${clip(attrs[0].value)}`,
      );
    }
    const signature = base64(expectAttribute(attrs[0], "v", what), `${what}: the signature`);
    extensions(attrs.slice(1), what);
    if (!constantTimeEqual(signature, serverSignature)) {
      throw new ScramError(
        "authentication-failed",
        "the server's signature is wrong: it does not know the credential",
      );
    }
  }

  private parseServerFirst(text: string): { nonce: string; salt: Buffer; iterations: number } {
    const what = "server-first";
    const attrs = attributes(text, what);
    if (attrs[0]?.name === "m") throw mandatoryExtension(what);
    const nonce = expectAttribute(attrs[0], "r", what);
    checkNonce(nonce, what);
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) {
      throw new ScramError("authentication-failed", `${what}: the nonce does not extend the client's nonce`);
    }
    const salt = base64(expectAttribute(attrs[1], "s", what), `${what}: the salt`);
    checkSalt(salt);
    const iterationsText = expectAttribute(attrs[2], "i", what);
    if (!/^[1-9][0-9]{0,8}$/.test(iterationsText)) {
      throw new ScramError(
        "malformed",
        `${what}: the iteration count '${clip(iterationsText)}' is not a number`,
      );
    }
    const iterations = Number(iterationsText);
    checkIterations(iterations, "the server's");
    extensions(attrs.slice(3), what);
    return { nonce, salt, iterations };
  }
}
