// Stopping a command: SIGINT or SIGTERM asks a long-running command to stop cleanly (a group member
// commits and leaves its group), a second one exits at once. `npx brook …` runs this process under
// `npm exec` and a shell, and a SIGTERM sent to npm's PID ends npm and the shell but never reaches this
// process; so when npm goes away, this process sends itself the SIGTERM it missed.

import { isAlive, parentOf, type ReadProc, readProc } from "./process-table.js";

/** How often the process checks that the npm that started it is still there. */
const launcherPollMs = 250;
/** After a stop request, a command that has not finished by then is ended anyway. */
const stopGraceMs = 10_000;
/** Ancestors looked at when searching for npm: npm exec → sh -c → node. */
const ancestorsMax = 3;
/** Exit code of a process ended by a signal it did not handle cleanly: 128 + SIGTERM. */
const forcedExitCode = 143;

/** The PID of the `npm exec` (npx) that started `pid`, if one did. */
export function launcherPid(pid: number, read: ReadProc = readProc): number | undefined {
  let ancestor = parentOf(pid, read);
  for (let depth = 0; depth < ancestorsMax && ancestor !== undefined; depth++) {
    const command = (read(ancestor, "cmdline") ?? "").replace(/\0/g, " ").trim();
    if (/^(npm exec|npx)( |$)/.test(command) || /\/npx(-cli\.js)? /.test(command)) return ancestor;
    ancestor = parentOf(ancestor, read);
  }
  return undefined;
}

/** Started by npx: SIGTERM ourselves once npm is gone (it was signalled, or its terminal closed). */
export function followLauncher(): void {
  const launcher = launcherPid(process.pid);
  if (launcher === undefined) return;
  const timer = setInterval(() => {
    if (isAlive(launcher)) return;
    clearInterval(timer);
    process.kill(process.pid, "SIGTERM");
  }, launcherPollMs);
  timer.unref();
}

/**
 * Calls `stop` on the first SIGINT or SIGTERM; a second signal, or a stop that takes longer than
 * stopGraceMs, exits at once. Returns the function that removes the handlers.
 */
export function onStopRequest(stop: (signal: NodeJS.Signals) => void): () => void {
  let requested = false;
  const handle = (signal: NodeJS.Signals) => {
    if (requested) {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(forcedExitCode);
    }
    requested = true;
    setTimeout(() => {
      process.stderr.write(`error: the command did not stop within ${stopGraceMs} ms of ${signal}\n`);
      process.exit(forcedExitCode);
    }, stopGraceMs).unref();
    stop(signal);
  };
  process.on("SIGINT", handle);
  process.on("SIGTERM", handle);
  return () => {
    process.off("SIGINT", handle);
    process.off("SIGTERM", handle);
  };
}
