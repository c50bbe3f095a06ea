// `brook user create|delete|list`: users who log in with SASL/SCRAM (docs/security.md). The password is
// salted and hashed here, by the SDK, and never sent: the cluster stores only what checks a login.

import { readFileSync } from "node:fs";
import { SCRAM_MECHANISMS, type ScramMechanism, type UserDescription, userDefaults } from "@brook/client";
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { parseInteger, withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";

export function userCommand(): Command {
  const user = new Command("user").description("create, delete and list users (SASL/SCRAM credentials)");
  addCreate(user);
  addDelete(user);
  addList(user);
  return user as unknown as Command;
}

/** "scram-sha-512" or "SCRAM-SHA-512", repeatable. */
function mechanism(value: string, previous: ScramMechanism[] = []): ScramMechanism[] {
  const name = value.toUpperCase();
  const found = SCRAM_MECHANISMS.find((each) => each === name);
  if (found === undefined) {
    throw new InvalidArgumentError(`expected ${SCRAM_MECHANISMS.join(" or ")}, got '${value}'`);
  }
  return previous.includes(found) ? previous : [...previous, found];
}

export interface PasswordSources {
  /** --password */
  password?: string;
  /** --password-file */
  passwordFile?: string;
  /** The password piped on stdin, read only when asked for. */
  stdin: () => string;
  /** Whether stdin is a terminal (nothing is piped). */
  stdinIsTty: boolean;
}

/**
 * The new user's password: --password, else the file --password-file names, else what stdin holds
 * when it is not a terminal. One trailing newline is dropped (as `echo` and editors leave one); an
 * empty password is refused.
 */
export function readPassword(sources: PasswordSources): string {
  if (sources.password !== undefined && sources.passwordFile !== undefined) {
    throw new Error("give the password once: --password or --password-file, not both");
  }
  let password: string;
  if (sources.password !== undefined) password = sources.password;
  else if (sources.passwordFile !== undefined) {
    try {
      password = readFileSync(sources.passwordFile, "utf8");
    } catch (error) {
      throw new Error(`--password-file ${sources.passwordFile}: ${(error as Error).message}`);
    }
  } else if (!sources.stdinIsTty) password = sources.stdin();
  else {
    throw new Error("give the password with --password-file <file> or --password <p>, or pipe it on stdin");
  }
  password = password.replace(/\r?\n$/, "");
  if (password === "") throw new Error("the password is empty");
  return password;
}

function addCreate(user: Command): void {
  user
    .command("create")
    .description(
      "create a user, or replace its credentials: one SCRAM credential per mechanism (the password is " +
        "hashed here, never sent); the password comes from --password-file, --password or stdin",
    )
    .argument("<name>")
    .option("--password-file <file>", "read the password from this file")
    .option("--password <password>", "the password (visible to other local users in the process list)")
    .option(
      "--mechanism <mechanism>",
      `SCRAM-SHA-256 or SCRAM-SHA-512, repeatable (default: both)`,
      mechanism,
    )
    .option(
      "--iterations <n>",
      `PBKDF2 iterations, 4096..16384 (default ${userDefaults.iterations})`,
      parseInteger("--iterations", 1),
    )
    .action(async (name, options, command) => {
      const password = readPassword({
        password: options.password,
        passwordFile: options.passwordFile,
        stdin: () => readFileSync(0, "utf8"),
        stdinIsTty: process.stdin.isTTY === true,
      });
      const mechanisms = options.mechanism ?? [...SCRAM_MECHANISMS];
      const iterations = options.iterations ?? userDefaults.iterations;
      await withAdmin(command, async (admin) => {
        await admin.createUser(name, password, { mechanisms, iterations });
        process.stdout.write(
          `user ${name}: credentials set for ${mechanisms.join(", ")} (${iterations} iterations)\n`,
        );
      });
    });
}

function addDelete(user: Command): void {
  user
    .command("delete")
    .description("delete a user's credentials: all of them (the user is gone), or those of --mechanism")
    .argument("<name>")
    .option("--mechanism <mechanism>", "SCRAM-SHA-256 or SCRAM-SHA-512, repeatable (default: all)", mechanism)
    .action(async (name, options, command) => {
      await withAdmin(command, async (admin) => {
        await admin.deleteUser(name, options.mechanism);
        process.stdout.write(
          options.mechanism === undefined
            ? `deleted user ${name}\n`
            : `deleted the ${options.mechanism.join(", ")} credentials of user ${name}\n`,
        );
      });
    });
}

function addList(user: Command): void {
  user
    .command("list")
    .description("list users: each SCRAM mechanism and its iterations (never salts or keys)")
    .argument("[names...]", "only these users")
    .option("--json", "print JSON")
    .action(async (names, options, command) => {
      await withAdmin(command, async (admin) => {
        const users = await admin.describeUsers(names);
        if (options.json) printJson(users);
        else printUsers(users);
      });
    });
}

/** One row per credential: user, mechanism, iterations. */
export function userRows(users: readonly UserDescription[]): Array<Array<string | number>> {
  return users.flatMap(({ name, credentials }) =>
    credentials.map(({ mechanism, iterations }) => [name, mechanism, iterations]),
  );
}

function printUsers(users: readonly UserDescription[]): void {
  printTable(["user", "mechanism", "iterations"], userRows(users));
}
