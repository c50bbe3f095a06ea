// Starts a real, throwaway PostgreSQL server for tests of the Postgres connectors:
// `const postgres = await startPostgres()` ... `await postgres.stop()`. It finds Debian's binaries (on PATH
// or under /usr/lib/postgresql/*/bin), runs initdb in a temporary directory (trust auth, a `brook`
// superuser) and serves on a free port of 127.0.0.1 only, with its unix socket in that directory and fsync
// off. As root, the binaries run as the `postgres` system user, which PostgreSQL insists on.

import { execFile } from "node:child_process";
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import getPort from "get-port";

const execFileAsync = promisify(execFile);
const debianRoot = "/usr/lib/postgresql";
const binaries = ["initdb", "pg_ctl", "postgres"] as const;
const startTimeoutS = 30;
const startAttemptsMax = 3;
const superuser = "brook";

export interface Postgres {
  /** postgres://brook@127.0.0.1:port/postgres */
  readonly url: string;
  readonly port: number;
  /** Stops the server (pg_ctl stop -m fast) and removes its directory; a second call does nothing. */
  stop(): Promise<void>;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function hasBinaries(dir: string): boolean {
  return binaries.every((name) => executable(join(dir, name)));
}

/** Debian's version directories, newest first: /usr/lib/postgresql/16/bin before .../15/bin. */
function debianBinDirs(): string[] {
  try {
    return readdirSync(debianRoot)
      .sort((a, b) => Number(b) - Number(a))
      .map((version) => join(debianRoot, version, "bin"));
  } catch {
    return [];
  }
}

/** The directory holding initdb, pg_ctl and postgres, or undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const pathDirs = (process.env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
  return [...pathDirs, ...debianBinDirs()].find(hasBinaries);
}

/**
 * Whether a PostgreSQL can be started here, for `describe.skipIf(!postgresAvailable())`. With
 * REQUIRE_POSTGRES set (as CI does) a missing PostgreSQL throws, so its tests fail instead of skipping.
 */
export function postgresAvailable(): boolean {
  if (postgresBinDir() !== undefined) return true;
  if (process.env.REQUIRE_POSTGRES) {
    throw new Error("PostgreSQL (initdb, pg_ctl, postgres) is not installed: apt-get install postgresql");
  }
  return false;
}

/** How to run a PostgreSQL binary: as root, through runuser or setpriv as the postgres user. */
function commandFor(binary: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [binary, args];
  const runuser = ["/usr/sbin/runuser", "/sbin/runuser"].find(executable);
  if (runuser !== undefined) return [runuser, ["-u", "postgres", "--", binary, ...args]];
  return ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", binary, ...args]];
}

async function run(binDir: string, name: string, args: string[], cwd: string): Promise<void> {
  const [command, commandArgs] = commandFor(join(binDir, name), args);
  try {
    await execFileAsync(command, commandArgs, { cwd });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${name} failed: ${(stderr || stdout || String(error)).trim()}`);
  }
}

/** The postgres user's uid and gid, which must own the directory when the server runs as root. */
async function postgresOwner(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await execFileAsync("id", [flag, "postgres"])).stdout.trim());
  try {
    return { uid: await id("-u"), gid: await id("-g") };
  } catch {
    throw new Error("running as root, but there is no `postgres` system user to run PostgreSQL as");
  }
}

async function startOnFreePort(binDir: string, rootDir: string, dataDir: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await getPort({ host: "127.0.0.1" });
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${rootDir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    const logFile = join(rootDir, "postgres.log");
    try {
      await run(
        binDir,
        "pg_ctl",
        ["start", "-D", dataDir, "-w", "-t", String(startTimeoutS), "-l", logFile, "-o", options],
        rootDir,
      );
      return port;
    } catch (error) {
      // Another process may have taken the port between getPort and the server's bind: try a new one.
      if (attempt >= startAttemptsMax) throw error;
    }
  }
}

/** Starts a PostgreSQL server in a new temporary directory; stop() stops it and removes the directory. */
export async function startPostgres(): Promise<Postgres> {
  const binDir = postgresBinDir();
  if (binDir === undefined) throw new Error("PostgreSQL is not installed: apt-get install postgresql");
  const rootDir = mkdtempSync(join(tmpdir(), "brook-postgres-"));
  const dataDir = join(rootDir, "data");
  try {
    if (process.getuid?.() === 0) {
      const { uid, gid } = await postgresOwner();
      chownSync(rootDir, uid, gid);
    }
    await run(
      binDir,
      "initdb",
      ["-D", dataDir, "-A", "trust", "-U", superuser, "-E", "UTF8", "--no-locale", "--no-sync"],
      rootDir,
    );
    const port = await startOnFreePort(binDir, rootDir, dataDir);
    let stopped = false;
    return {
      url: `postgres://${superuser}@127.0.0.1:${port}/postgres`,
      port,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await run(binDir, "pg_ctl", ["stop", "-D", dataDir, "-m", "fast", "-w"], rootDir);
        } finally {
          rmSync(rootDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(rootDir, { recursive: true, force: true });
    throw error;
  }
}
