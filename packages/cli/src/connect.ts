// Options every client command shares, and the SDK connection they make.

import { type Admin, Brook } from "@brook/client";

/**
 * The three brokers `make up` starts, first one first: with a node of a
 * local cluster down (a drill, a crash), commands still find the others.
 */
export const defaultBootstrap = "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292";

export interface GlobalOptions {
  bootstrap?: string;
}

/** Bootstrap servers from --bootstrap, else BROOK_BOOTSTRAP, else the local cluster's three brokers. */
export function bootstrapServers(options: GlobalOptions): string[] {
  const value = options.bootstrap ?? process.env.BROOK_BOOTSTRAP ?? defaultBootstrap;
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** What commands need of a commander sub-command, whatever its arguments and options. */
export interface AnyCommand {
  optsWithGlobals(): object;
}

export function connect(command: AnyCommand): Brook {
  const options = command.optsWithGlobals() as GlobalOptions;
  return new Brook({ brokers: bootstrapServers(options), clientId: "brook-cli" });
}

/** Runs `action` with an admin client and always closes it. */
export async function withAdmin<T>(command: AnyCommand, action: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = connect(command).admin();
  try {
    return await action(admin);
  } finally {
    await admin.close();
  }
}

export function parseInteger(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new Error(`${name} must be a whole number ≥ ${min}, got '${value}'`);
    }
    return n;
  };
}
