// SCRAM as Kafka speaks it: RFC 7677's vector byte for byte, round trips, every way a message can be
// wrong, an unknown user indistinguishable from a wrong password, and kafkajs's own SCRAM client logging
// in against ScramServer.
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isScramMechanism,
  SCRAM_AUTHENTICATION_FAILED_MESSAGE,
  SCRAM_AUTHZID_MISMATCH_MESSAGE,
  SCRAM_MAX_MESSAGE_BYTES,
  SCRAM_MECHANISMS,
  ScramClient,
  type ScramCredential,
  ScramError,
  type ScramErrorReason,
  type ScramMechanism,
  ScramServer,
  scramCredential,
  scramCredentialFromSaltedPassword,
} from "../src/scram.js";

const b = (s: string) => Buffer.from(s, "utf8");

/** Runs `action` and returns the ScramError it throws (failing the test if it throws anything else). */
function scramError(action: () => unknown): ScramError {
  try {
    action();
  } catch (e) {
    if (e instanceof ScramError) return e;
    throw e;
  }
  throw new Error("expected a ScramError, but nothing was thrown");
}

function expectScramError(action: () => unknown, reason: ScramErrorReason, message?: string | RegExp): void {
  const error = scramError(action);
  expect(error.reason, error.message).toBe(reason);
  if (typeof message === "string") expect(error.message).toBe(message);
  else if (message) expect(error.message).toMatch(message);
}

function users(mechanism: ScramMechanism, entries: Record<string, string>) {
  const credentials = new Map<string, ScramCredential>();
  for (const [name, password] of Object.entries(entries)) {
    credentials.set(name, scramCredential(mechanism, password));
  }
  return (username: string) => credentials.get(username);
}

/** A whole exchange; returns what each side said. */
function login(server: ScramServer, client: ScramClient) {
  const clientFirst = client.clientFirst();
  const serverFirst = server.handleClientFirst(clientFirst);
  const clientFinal = client.handleServerFirst(serverFirst);
  const { serverFinal, username } = server.handleClientFinal(clientFinal);
  client.verifyServerFinal(serverFinal);
  return { clientFirst, serverFirst, clientFinal, serverFinal, username };
}

/**
 * An independent client-final for hand-made exchanges (gs2 headers and nonces ScramClient never sends):
 * RFC 5802 §3 written out again, straight on node:crypto.
 */
function handMadeFinal(options: {
  mechanism: ScramMechanism;
  password: string;
  clientFirstBare: string;
  serverFirst: string;
  channelBinding: string;
  nonce?: string;
}): Buffer {
  const hash = options.mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
  const attrs = new Map(options.serverFirst.split(",").map((kv): [string, string] => [kv[0], kv.slice(2)]));
  const salt = Buffer.from(attrs.get("s")!, "base64");
  const iterations = Number(attrs.get("i"));
  const salted = pbkdf2Sync(options.password, salt, iterations, hash === "sha256" ? 32 : 64, hash);
  const clientKey = createHmac(hash, salted).update("Client Key").digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=${options.channelBinding},r=${options.nonce ?? attrs.get("r")}`;
  const authMessage = `${options.clientFirstBare},${options.serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]));
  return b(`${withoutProof},p=${proof.toString("base64")}`);
}

describe("RFC 7677 test vector (SCRAM-SHA-256)", () => {
  const clientNonce = "rOprNGfwEbeRWgbNEkqO";
  const serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
  const serverFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  const clientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
  const credential = scramCredential("SCRAM-SHA-256", "pencil", {
    salt: Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"),
    iterations: 4096,
  });

  it("the client sends exactly the RFC's messages", () => {
    const client = new ScramClient("SCRAM-SHA-256", "user", "pencil", clientNonce);
    expect(client.clientFirst().toString()).toBe(clientFirst);
    expect(client.handleServerFirst(b(serverFirst)).toString()).toBe(clientFinal);
    expect(() => client.verifyServerFinal(b(serverFinal))).not.toThrow();
  });

  it("the server answers exactly the RFC's messages", () => {
    const server = new ScramServer(
      "SCRAM-SHA-256",
      (name) => (name === "user" ? credential : undefined),
      () => serverNonce,
    );
    expect(server.handleClientFirst(b(clientFirst)).toString()).toBe(serverFirst);
    const result = server.handleClientFinal(b(clientFinal));
    expect(result.serverFinal.toString()).toBe(serverFinal);
    expect(result.username).toBe("user");
  });
});

describe("credentials", () => {
  it("accept exactly Kafka's iteration range 4096..16384", () => {
    for (const iterations of [4095, 16385, 0, -1, 4096.5, Number.NaN]) {
      expectScramError(
        () => scramCredential("SCRAM-SHA-256", "p", { iterations }),
        "unsupported",
        /4096\.\.16384/,
      );
    }
    expect(scramCredential("SCRAM-SHA-512", "p", { iterations: 16384 }).iterations).toBe(16384);
    expect(scramCredential("SCRAM-SHA-256", "p").iterations).toBe(4096);
  });

  it("get a random 32-byte salt by default, and keys the size of the hash", () => {
    const one = scramCredential("SCRAM-SHA-256", "p");
    const two = scramCredential("SCRAM-SHA-256", "p");
    expect(one.salt.length).toBe(32);
    expect(one.salt.equals(two.salt)).toBe(false);
    expect(one.storedKey.length).toBe(32);
    expect(scramCredential("SCRAM-SHA-512", "p").serverKey.length).toBe(64);
  });

  it("use the password's UTF-8 bytes as they are, without SASLprep (as Kafka does)", () => {
    const salt = Buffer.alloc(16, 1);
    // SASLprep maps the soft hyphen to nothing and NFKC-normalises "Ⅸ" to "IX"; Kafka does neither.
    const soft = scramCredential("SCRAM-SHA-256", "I\u00adX", { salt });
    const plain = scramCredential("SCRAM-SHA-256", "IX", { salt });
    const roman = scramCredential("SCRAM-SHA-256", "\u2168", { salt });
    expect(soft.storedKey.equals(plain.storedKey)).toBe(false);
    expect(roman.storedKey.equals(plain.storedKey)).toBe(false);
    const expected = pbkdf2Sync(Buffer.from("I\u00adX", "utf8"), salt, 4096, 32, "sha256");
    expect(scramCredentialFromSaltedPassword("SCRAM-SHA-256", salt, 4096, expected)).toEqual(soft);
  });

  it("refuse an empty salt, a salted password of the wrong size and a lone surrogate", () => {
    expectScramError(() => scramCredential("SCRAM-SHA-256", "p", { salt: Buffer.alloc(0) }), "malformed");
    expectScramError(
      () => scramCredentialFromSaltedPassword("SCRAM-SHA-512", Buffer.alloc(8), 4096, Buffer.alloc(32)),
      "malformed",
      /64 bytes/,
    );
    expectScramError(() => scramCredential("SCRAM-SHA-256", "\ud800"), "malformed", /surrogate/);
  });

  it("isScramMechanism knows the two mechanisms and nothing else", () => {
    expect(SCRAM_MECHANISMS.every(isScramMechanism)).toBe(true);
    for (const other of ["SCRAM-SHA-1", "scram-sha-256", "PLAIN", "", undefined, 256]) {
      expect(isScramMechanism(other)).toBe(false);
    }
  });
});

describe.each(SCRAM_MECHANISMS)("%s round trips", (mechanism) => {
  it("logs in with the right password and reports the username", () => {
    const server = new ScramServer(mechanism, users(mechanism, { alice: "wonderland" }));
    const { username, serverFirst } = login(server, new ScramClient(mechanism, "alice", "wonderland"));
    expect(username).toBe("alice");
    // Kafka's server-first, with nothing after i= (kafkajs cannot parse anything else there).
    expect(serverFirst.toString()).toMatch(/^r=[\x21-\x2b\x2d-\x7e]+,s=[A-Za-z0-9+/]+=*,i=4096$/);
  });

  it("logs in at the largest iteration count and with non-ASCII names and passwords", () => {
    const credential = scramCredential(mechanism, "пароль 🔑", { iterations: 16384 });
    const server = new ScramServer(mechanism, (name) => (name === "jürgen" ? credential : undefined));
    expect(login(server, new ScramClient(mechanism, "jürgen", "пароль 🔑")).username).toBe("jürgen");
  });

  it("refuses a wrong password with the generic message", () => {
    const server = new ScramServer(mechanism, users(mechanism, { alice: "wonderland" }));
    const client = new ScramClient(mechanism, "alice", "looking-glass");
    const clientFinal = client.handleServerFirst(server.handleClientFirst(client.clientFirst()));
    expectScramError(
      () => server.handleClientFinal(clientFinal),
      "authentication-failed",
      SCRAM_AUTHENTICATION_FAILED_MESSAGE,
    );
  });

  it("refuses a credential of the other mechanism as a bug in the lookup, not as a failed login", () => {
    const other = mechanism === "SCRAM-SHA-256" ? "SCRAM-SHA-512" : "SCRAM-SHA-256";
    const credential = scramCredential(other, "p");
    const server = new ScramServer(mechanism, () => credential);
    const error = (() => {
      try {
        server.handleClientFirst(new ScramClient(mechanism, "u", "p").clientFirst());
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ScramError);
  });
});

describe("an unknown user", () => {
  const mechanism = "SCRAM-SHA-256";
  const lookup = users(mechanism, { alice: "wonderland" });

  function serverFirstFor(username: string, server = new ScramServer(mechanism, lookup)) {
    const client = new ScramClient(mechanism, username, "whatever");
    const serverFirst = server.handleClientFirst(client.clientFirst()).toString();
    return {
      client,
      server,
      serverFirst,
      salt: serverFirst.split(",")[1],
      iterations: serverFirst.split(",")[2],
    };
  }

  it("gets a server-first shaped like a real user's, with a salt stable per name", () => {
    const real = serverFirstFor("alice");
    const ghost = serverFirstFor("bob");
    expect(ghost.serverFirst).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/]+=*,i=4096$/);
    expect(Buffer.from(ghost.salt.slice(2), "base64").length).toBe(
      Buffer.from(real.salt.slice(2), "base64").length,
    );
    expect(serverFirstFor("bob").salt).toBe(ghost.salt);
    expect(serverFirstFor("carol").salt).not.toBe(ghost.salt);
    // The per-process secret decides the salt: another secret, another salt.
    const otherSecret = new ScramServer(mechanism, lookup, undefined, Buffer.alloc(32, 7));
    expect(serverFirstFor("bob", otherSecret).salt).not.toBe(ghost.salt);
  });

  it("fails at the final step with exactly the error of a wrong password", () => {
    const ghost = serverFirstFor("bob");
    const ghostError = scramError(() =>
      ghost.server.handleClientFinal(ghost.client.handleServerFirst(b(ghost.serverFirst))),
    );
    const wrong = new ScramServer(mechanism, lookup);
    const client = new ScramClient(mechanism, "alice", "not-it");
    const wrongError = scramError(() =>
      wrong.handleClientFinal(client.handleServerFirst(wrong.handleClientFirst(client.clientFirst()))),
    );
    expect(ghostError.reason).toBe("authentication-failed");
    expect({ reason: ghostError.reason, message: ghostError.message }).toEqual({
      reason: wrongError.reason,
      message: wrongError.message,
    });
  });
});

describe("usernames", () => {
  const mechanism = "SCRAM-SHA-512";

  it("travel with ',' and '=' escaped as =2C and =3D, and reach the lookup unescaped", () => {
    const credential = scramCredential(mechanism, "pw");
    const asked: string[] = [];
    const server = new ScramServer(mechanism, (name) => {
      asked.push(name);
      return name === "a,b=c" ? credential : undefined;
    });
    const { clientFirst, username } = login(server, new ScramClient(mechanism, "a,b=c", "pw"));
    expect(clientFirst.toString()).toMatch(/^n,,n=a=2Cb=3Dc,r=/);
    expect(asked).toEqual(["a,b=c"]);
    expect(username).toBe("a,b=c");
  });

  it("with any other '=' escape are refused", () => {
    for (const name of ["a=2Db", "a=", "=", "a=2c", "a=3d", "a=2", "==2C"]) {
      const server = new ScramServer(mechanism, () => undefined);
      expectScramError(() => server.handleClientFirst(b(`n,,n=${name},r=abc`)), "malformed", /=2C or =3D/);
    }
  });

  it("are refused by the client when empty or containing NUL", () => {
    expectScramError(() => new ScramClient(mechanism, "", "p"), "malformed");
    expectScramError(() => new ScramClient(mechanism, "a\0b", "p"), "malformed");
    expectScramError(
      () => new ScramClient(mechanism, "x".repeat(SCRAM_MAX_MESSAGE_BYTES), "p"),
      "malformed",
      /4096/,
    );
  });
});

describe("the gs2 header and the authzid", () => {
  const mechanism = "SCRAM-SHA-256";
  const credential = scramCredential(mechanism, "pw");
  const lookup = (name: string) => (name === "user" || name === "a,b" ? credential : undefined);

  function exchange(gs2Header: string, saslName: string) {
    const server = new ScramServer(mechanism, lookup);
    const bare = `n=${saslName},r=client-nonce`;
    const serverFirst = server.handleClientFirst(b(gs2Header + bare)).toString();
    const channelBinding = Buffer.from(gs2Header).toString("base64");
    const final = (cb = channelBinding) =>
      handMadeFinal({ mechanism, password: "pw", clientFirstBare: bare, serverFirst, channelBinding: cb });
    return { server, final };
  }

  it("accepts 'y,,' (the client could bind, but thinks the server cannot), bound as c=eSws", () => {
    const { server, final } = exchange("y,,", "user");
    expect(final().toString()).toMatch(/^c=eSws,/);
    expect(server.handleClientFinal(final()).username).toBe("user");
  });

  it("accepts an authzid equal to the username, escaped the same way", () => {
    const plain = exchange("n,a=user,", "user");
    expect(plain.server.handleClientFinal(plain.final()).username).toBe("user");
    const escaped = exchange("n,a=a=2Cb,", "a=2Cb");
    expect(escaped.server.handleClientFinal(escaped.final()).username).toBe("a,b");
  });

  it("refuses an authzid that is not the username, with Kafka's message, even for unknown users", () => {
    for (const first of ["n,a=admin,n=user,r=abc", "n,a=admin,n=nobody,r=abc", "y,a=User,n=user,r=abc"]) {
      const server = new ScramServer(mechanism, lookup);
      expectScramError(
        () => server.handleClientFirst(b(first)),
        "authzid-mismatch",
        SCRAM_AUTHZID_MISMATCH_MESSAGE,
      );
    }
  });

  it("refuses channel binding (p=) as unsupported", () => {
    const server = new ScramServer(mechanism, lookup);
    expectScramError(
      () => server.handleClientFirst(b("p=tls-server-end-point,,n=user,r=abc")),
      "unsupported",
      /channel binding/,
    );
  });

  it("refuses a c= that is not the base64 of the gs2 header actually sent", () => {
    for (const [header, wrong] of [
      ["n,,", "eSws"],
      ["y,,", "biws"],
      ["n,a=user,", "biws"],
      ["n,,", "biws="],
    ]) {
      const { server, final } = exchange(header, "user");
      expectScramError(() => server.handleClientFinal(final(wrong)), "malformed", /c= must be the base64/);
    }
  });
});

describe("client-first extensions", () => {
  const mechanism = "SCRAM-SHA-256";
  const credential = scramCredential(mechanism, "pw");

  it("ignores unknown extensions (and still signs the message as sent)", () => {
    const server = new ScramServer(mechanism, () => credential);
    const bare = "n=user,r=abc,foo=bar,tokenauth=false";
    const serverFirst = server.handleClientFirst(b(`n,,${bare}`)).toString();
    const final = handMadeFinal({
      mechanism,
      password: "pw",
      clientFirstBare: bare,
      serverFirst,
      channelBinding: "biws",
    });
    expect(server.handleClientFinal(final).username).toBe("user");
  });

  it("refuses delegation tokens (Kafka's tokenauth=true, in any case)", () => {
    for (const value of ["true", "TRUE", "True"]) {
      const server = new ScramServer(mechanism, () => credential);
      expectScramError(
        () => server.handleClientFirst(b(`n,,n=token-id,r=abc,tokenauth=${value}`)),
        "unsupported",
        /delegation tokens/,
      );
    }
  });
});

describe("malformed messages", () => {
  const mechanism = "SCRAM-SHA-256";
  const credential = scramCredential(mechanism, "pw");

  it.each<[string, Buffer, ScramErrorReason, RegExp]>([
    ["empty", b(""), "malformed", /empty/],
    ["too long", b(`n,,n=user,r=${"x".repeat(SCRAM_MAX_MESSAGE_BYTES)}`), "malformed", /more than the 4096/],
    [
      "not UTF-8",
      Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61]),
      "malformed",
      /UTF-8/,
    ],
    [
      "overlong UTF-8",
      Buffer.concat([b("n,,n="), Buffer.from([0xc0, 0xaf]), b(",r=a")]),
      "malformed",
      /UTF-8/,
    ],
    ["a NUL", b("n,,n=us\0er,r=abc"), "malformed", /NUL/],
    ["no gs2 header", b("n=user,r=abc"), "malformed", /gs2 header/],
    ["an unknown gs2 flag", b("x,,n=user,r=abc"), "malformed", /'n,', 'y,' or 'p='/],
    ["an authzid without a=", b("n,user,n=user,r=abc"), "malformed", /authzid/],
    ["an empty authzid a=", b("n,a=,n=user,r=abc"), "malformed", /authzid/],
    ["attributes swapped", b("n,,r=abc,n=user"), "malformed", /expected attribute n= but found r=/],
    ["no nonce", b("n,,n=user"), "malformed", /r= is missing/],
    ["an empty username", b("n,,n=,r=abc"), "malformed", /n= is empty/],
    ["an empty nonce", b("n,,n=user,r="), "malformed", /r= is empty/],
    ["a space in the nonce", b("n,,n=user,r=ab c"), "malformed", /printable/],
    ["a non-ASCII nonce", b("n,,n=user,r=abç"), "malformed", /printable/],
    ["a bare word", b("n,,n=user,r=abc,junk"), "malformed", /name=value/],
    ["a trailing comma", b("n,,n=user,r=abc,"), "malformed", /name=value/],
    ["a repeated nonce", b("n,,n=user,r=abc,r=def"), "malformed", /repeated or out of place/],
    ["a repeated extension", b("n,,n=user,r=abc,x=1,x=2"), "malformed", /repeated/],
    ["an empty extension", b("n,,n=user,r=abc,x="), "malformed", /no value/],
    ["a mandatory extension", b("n,,m=ext,n=user,r=abc"), "unsupported", /m=/],
    ["a late mandatory extension", b("n,,n=user,r=abc,m=ext"), "unsupported", /m=/],
  ])("client-first with %s", (_name, message, reason, text) => {
    const server = new ScramServer(mechanism, () => credential);
    expectScramError(() => server.handleClientFirst(message), reason, text);
  });

  function afterFirst() {
    const server = new ScramServer(mechanism, () => credential);
    const client = new ScramClient(mechanism, "user", "pw");
    const good = client.handleServerFirst(server.handleClientFirst(client.clientFirst())).toString();
    const nonce = good.split(",")[1];
    return { server, good, nonce, proof: good.split(",")[2] };
  }

  it.each<[string, (m: { good: string; nonce: string; proof: string }) => string, ScramErrorReason, RegExp]>([
    ["empty", () => "", "malformed", /empty/],
    ["no proof", ({ nonce }) => `c=biws,${nonce}`, "malformed", /p= is missing/],
    [
      "the proof first",
      ({ nonce, proof }) => `${proof},c=biws,${nonce}`,
      "malformed",
      /expected attribute c=/,
    ],
    [
      "the proof not last",
      ({ nonce, proof }) => `c=biws,${nonce},${proof},x=1`,
      "malformed",
      /expected attribute p=/,
    ],
    ["a proof that is not base64", ({ nonce }) => `c=biws,${nonce},p=!!!!`, "malformed", /base64/],
    [
      "a proof without padding",
      ({ nonce, proof }) => `c=biws,${nonce},${proof.replace(/=+$/, "")}`,
      "malformed",
      /base64/,
    ],
    ["a short proof", ({ nonce }) => `c=biws,${nonce},p=AAAA`, "malformed", /32 bytes, not 3/],
    ["an empty nonce", ({ proof }) => `c=biws,r=,${proof}`, "malformed", /r= is empty/],
    ["a mandatory extension", ({ nonce, proof }) => `c=biws,${nonce},m=x,${proof}`, "unsupported", /m=/],
    ["a second nonce", ({ nonce, proof }) => `c=biws,${nonce},r=x,${proof}`, "malformed", /repeated/],
  ])("client-final with %s", (_name, make, reason, text) => {
    const exchange = afterFirst();
    expectScramError(() => exchange.server.handleClientFinal(b(make(exchange))), reason, text);
  });

  it("a client-final with an unknown extension before the proof still checks the proof", () => {
    const exchange = afterFirst();
    // The extension is part of the signed message, so inserting it breaks the proof.
    const [c, r, p] = exchange.good.split(",");
    expectScramError(
      () => exchange.server.handleClientFinal(b(`${c},${r},x=1,${p}`)),
      "authentication-failed",
      SCRAM_AUTHENTICATION_FAILED_MESSAGE,
    );
  });
});

describe("nonces", () => {
  const mechanism = "SCRAM-SHA-256";
  const credential = scramCredential(mechanism, "pw");

  function started() {
    const server = new ScramServer(mechanism, () => credential);
    const bare = "n=user,r=client-nonce";
    const serverFirst = server.handleClientFirst(b(`n,,${bare}`)).toString();
    const issued = serverFirst.split(",")[0].slice(2);
    const final = (nonce: string) =>
      handMadeFinal({
        mechanism,
        password: "pw",
        clientFirstBare: bare,
        serverFirst,
        channelBinding: "biws",
        nonce,
      });
    return { server, issued, final };
  }

  it("the server refuses a final message with any other nonce, even correctly signed", () => {
    const tamper = [
      (n: string) => `${n.slice(0, -1)}${n.endsWith("A") ? "B" : "A"}`,
      (n: string) => `${n}x`,
      (n: string) => n.slice(0, -1),
      () => "client-nonce",
      (n: string) => `x${n}`,
      (n: string) => `client-nonceX${n}`,
    ];
    for (const change of tamper) {
      const { server, issued, final } = started();
      expectScramError(
        () => server.handleClientFinal(final(change(issued))),
        "authentication-failed",
        /nonce/,
      );
    }
  });

  it("the server accepts librdkafka < 2.6.1's doubled client nonce, which Kafka 3.x accepted", () => {
    const { server, issued, final } = started();
    expect(server.handleClientFinal(final(`client-nonce${issued}`)).username).toBe("user");
  });

  it("the client refuses a server nonce that does not extend its own", () => {
    for (const r of ["other-nonce", "abc", "ab"]) {
      const client = new ScramClient(mechanism, "user", "pw", "abc");
      client.clientFirst();
      expectScramError(
        () => client.handleServerFirst(b(`r=${r},s=AAAA,i=4096`)),
        "authentication-failed",
        /nonce/,
      );
    }
  });

  it("a recorded final message replayed on a fresh server fails", () => {
    const lookup = () => credential;
    const client = new ScramClient(mechanism, "user", "pw", "fixed-client-nonce");
    const recorded = login(new ScramServer(mechanism, lookup), client);
    const fresh = new ScramServer(mechanism, lookup);
    fresh.handleClientFirst(recorded.clientFirst);
    expectScramError(() => fresh.handleClientFinal(recorded.clientFinal), "authentication-failed");
  });
});

describe("the order of the steps", () => {
  const mechanism = "SCRAM-SHA-256";
  const credential = scramCredential(mechanism, "pw");

  it("the server takes client-first once, then client-final once", () => {
    const fresh = new ScramServer(mechanism, () => credential);
    expectScramError(
      () => fresh.handleClientFinal(b("c=biws,r=x,p=AAAA")),
      "out-of-order",
      /waiting for client-first/,
    );

    const server = new ScramServer(mechanism, () => credential);
    const client = new ScramClient(mechanism, "user", "pw");
    const first = client.clientFirst();
    const serverFirst = server.handleClientFirst(first);
    expectScramError(() => server.handleClientFirst(first), "out-of-order");
    server.handleClientFinal(client.handleServerFirst(serverFirst));
    expectScramError(() => server.handleClientFinal(first), "out-of-order", /ended/);
  });

  it("a failed step ends the exchange", () => {
    const server = new ScramServer(mechanism, () => credential);
    expectScramError(() => server.handleClientFirst(b("garbage")), "malformed");
    expectScramError(() => server.handleClientFirst(b("n,,n=user,r=abc")), "out-of-order");

    const other = new ScramServer(mechanism, () => credential);
    const client = new ScramClient(mechanism, "user", "pw");
    const final = client.handleServerFirst(other.handleClientFirst(client.clientFirst()));
    expectScramError(() => other.handleClientFinal(b("c=biws")), "malformed");
    expectScramError(() => other.handleClientFinal(final), "out-of-order");
  });

  it("the client goes clientFirst, handleServerFirst, verifyServerFinal, once each", () => {
    const client = new ScramClient(mechanism, "user", "pw", "abc");
    expectScramError(() => client.handleServerFirst(b("r=abcd,s=AAAA,i=4096")), "out-of-order");
    expectScramError(() => client.verifyServerFinal(b("v=AAAA")), "out-of-order");
    client.clientFirst();
    expectScramError(() => client.clientFirst(), "out-of-order");
  });
});

describe("the client's checks on the server", () => {
  const mechanism = "SCRAM-SHA-256";

  function clientAt(step: "server-first" | "server-final") {
    const client = new ScramClient(mechanism, "user", "pw", "abc");
    client.clientFirst();
    if (step === "server-final") client.handleServerFirst(b("r=abcdef,s=AAAA,i=4096"));
    return client;
  }

  it.each<[string, string, ScramErrorReason, RegExp]>([
    ["too few iterations", "r=abcd,s=AAAA,i=4095", "unsupported", /4095 is outside/],
    ["too many iterations", "r=abcd,s=AAAA,i=16385", "unsupported", /16385 is outside/],
    ["a huge iteration count", "r=abcd,s=AAAA,i=99999999999999999999", "malformed", /not a number/],
    ["a non-numeric iteration count", "r=abcd,s=AAAA,i=4k", "malformed", /not a number/],
    ["a leading zero", "r=abcd,s=AAAA,i=04096", "malformed", /not a number/],
    ["a salt that is not base64", "r=abcd,s=A,i=4096", "malformed", /salt is not valid base64/],
    ["no salt", "r=abcd,i=4096", "malformed", /expected attribute s=/],
    ["a mandatory extension", "m=x,r=abcd,s=AAAA,i=4096", "unsupported", /m=/],
    ["an e= instead", "e=other-error", "malformed", /expected attribute r=/],
  ])("server-first with %s is refused", (_name, message, reason, text) => {
    expectScramError(() => clientAt("server-first").handleServerFirst(b(message)), reason, text);
  });

  it("server-first may carry extensions after i=, which the client ignores", () => {
    expect(clientAt("server-first").handleServerFirst(b("r=abcd,s=AAAA,i=4096,foo=bar")).toString()).toMatch(
      /^c=biws,r=abcd,p=/,
    );
  });

  it.each<[string, string, RegExp]>([
    ["a server error", "e=invalid-proof", /refused the authentication: invalid-proof/],
    ["a wrong signature", `v=${Buffer.alloc(32).toString("base64")}`, /signature is wrong/],
    ["a short signature", "v=AAAA", /signature is wrong/],
  ])("server-final with %s fails the authentication", (_name, message, text) => {
    expectScramError(
      () => clientAt("server-final").verifyServerFinal(b(message)),
      "authentication-failed",
      text,
    );
  });

  it("server-final that is neither v= nor e= is malformed", () => {
    expectScramError(
      () => clientAt("server-final").verifyServerFinal(b("x=1")),
      "malformed",
      /expected attribute v=/,
    );
    expectScramError(() => clientAt("server-final").verifyServerFinal(b("v=!!")), "malformed", /base64/);
  });
});

describe("arbitrary input", () => {
  const mechanism = "SCRAM-SHA-256";
  const credential = scramCredential(mechanism, "pw");
  const onlyScramErrors = (action: () => unknown) => {
    try {
      action();
    } catch (e) {
      if (!(e instanceof ScramError)) throw e;
    }
  };

  // Arbitrary bytes, and valid messages with a few bytes changed (which get much further into the parser).
  function mutated(valid: string) {
    return fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
      .map((edits) => {
        const bytes = Buffer.from(valid);
        for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
        return bytes;
      });
  }
  const bytes = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
  const tokens = fc
    .array(
      fc.constantFrom("n", "y", "p=", "a=", ",", "=", "r=", "c=", "m=", "=2C", "=3D", "x", "biws", "p=AAAA"),
      {
        maxLength: 12,
      },
    )
    .map((parts) => b(parts.join("")));

  it("never make the server throw anything but a ScramError", () => {
    const valid = "n,a=user,n=user,r=client-nonce,ext=1";
    fc.assert(
      fc.property(fc.oneof(bytes, tokens, mutated(valid)), (message) => {
        onlyScramErrors(() => new ScramServer(mechanism, () => credential).handleClientFirst(message));
      }),
      { numRuns: 2000 },
    );
    const client = new ScramClient(mechanism, "user", "pw");
    const server = new ScramServer(mechanism, () => credential);
    const validFinal = client.handleServerFirst(server.handleClientFirst(client.clientFirst())).toString();
    fc.assert(
      fc.property(fc.oneof(bytes, tokens, mutated(validFinal)), (message) => {
        const s = new ScramServer(mechanism, () => credential);
        s.handleClientFirst(b("n,,n=user,r=abc"));
        onlyScramErrors(() => s.handleClientFinal(message));
      }),
      { numRuns: 2000 },
    );
  });

  it("never make the client throw anything but a ScramError", () => {
    fc.assert(
      fc.property(fc.oneof(bytes, tokens, mutated("r=abcd,s=AAAA,i=0")), (message) => {
        const client = new ScramClient(mechanism, "user", "pw", "abc");
        client.clientFirst();
        onlyScramErrors(() => client.handleServerFirst(message));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.oneof(bytes, tokens, mutated(`v=${Buffer.alloc(32).toString("base64")}`)), (message) => {
        const client = new ScramClient(mechanism, "user", "pw", "abc");
        client.clientFirst();
        client.handleServerFirst(b("r=abcd,s=AAAA,i=4096"));
        onlyScramErrors(() => client.verifyServerFinal(message));
      }),
      { numRuns: 300 },
    );
  });
});

// kafkajs's own SCRAM client (what kafkajs runs inside SaslAuthenticate), driven against ScramServer the
// way Brook's Kafka listener will drive it: the SCRAM message is the whole of auth_bytes.
describe.each(SCRAM_MECHANISMS)("kafkajs %s against ScramServer", (mechanism) => {
  interface Payload {
    request: { encode(): Promise<Buffer> };
    response?: { decode(raw: Buffer): Promise<Buffer>; parse(data: Buffer): Promise<unknown> };
  }
  interface KafkajsScram {
    authenticate(): Promise<void>;
  }
  const require = createRequire(import.meta.url);
  const { SCRAM, DIGESTS } = require("kafkajs/src/broker/saslAuthenticator/scram.js") as {
    SCRAM: new (
      sasl: { username: string; password: string },
      host: string,
      port: number,
      logger: { debug(): void; error(): void },
      saslAuthenticate: (payload: Payload) => Promise<unknown>,
      digest: unknown,
    ) => KafkajsScram;
    DIGESTS: { SHA256: unknown; SHA512: unknown };
  };
  const digest = mechanism === "SCRAM-SHA-256" ? DIGESTS.SHA256 : DIGESTS.SHA512;
  const logger = { debug() {}, error() {} };

  function kafkajsLogin(server: ScramServer, username: string, password: string, seen: string[]) {
    // kafkajs hands over each SCRAM message as BYTES (int32 length first) and expects the reply the same way.
    const saslAuthenticate = async ({ request, response }: Payload) => {
      const message = (await request.encode()).subarray(4);
      seen.push(message.toString());
      let reply: Buffer;
      try {
        reply =
          seen.length === 1
            ? server.handleClientFirst(message)
            : server.handleClientFinal(message).serverFinal;
      } catch (e) {
        // What Kafka's SaslServerAuthenticator puts in the SaslAuthenticate error_message.
        throw new Error(
          `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`,
          { cause: e },
        );
      }
      if (!response) return undefined;
      const length = Buffer.alloc(4);
      length.writeInt32BE(reply.length);
      return response.parse(await response.decode(Buffer.concat([length, reply])));
    };
    return new SCRAM(
      { username, password },
      "localhost",
      9092,
      logger,
      saslAuthenticate,
      digest,
    ).authenticate();
  }

  it("logs in, sending n,, with no authzid and no extensions", async () => {
    const server = new ScramServer(mechanism, users(mechanism, { "kafka,user=1": "s3cret" }));
    const seen: string[] = [];
    await kafkajsLogin(server, "kafka,user=1", "s3cret", seen);
    expect(seen[0]).toMatch(/^n,,n=kafka=2Cuser=3D1,r=[A-Za-z0-9_-]+$/);
    expect(seen[1]).toMatch(/^c=biws,r=[^,]+,p=[A-Za-z0-9+/]+=*$/);
  });

  it("is refused with a wrong password or an unknown user", async () => {
    const lookup = users(mechanism, { alice: "s3cret" });
    for (const [username, password] of [
      ["alice", "wrong"],
      ["mallory", "s3cret"],
    ]) {
      await expect(kafkajsLogin(new ScramServer(mechanism, lookup), username, password, [])).rejects.toThrow(
        /authentication failed: Authentication failed during authentication due to invalid credentials/,
      );
    }
  });
});
