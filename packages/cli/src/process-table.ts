// Reading Linux's process table (/proc): whether a process still runs, and who started it. Elsewhere
// there is no table to read, and kill(0) is all there is to know.

import { existsSync, readFileSync } from "node:fs";

export type ReadProc = (pid: number, file: "stat" | "cmdline") => string | undefined;

export const readProc: ReadProc = (pid, file) => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined; // not Linux, or the process is gone
  }
};

/** "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields follow the last ")". */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** The parent of `pid`, or undefined when unknown or init. */
export function parentOf(pid: number, read: ReadProc = readProc): number | undefined {
  const stat = read(pid, "stat");
  const ppid = stat === undefined ? Number.NaN : Number(statFields(stat)[1]);
  return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined;
}

/**
 * The process exists and is not a zombie: a killed process stays a zombie until its parent or init
 * reaps it, which in some containers and VMs takes seconds.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!existsSync("/proc/self/stat")) return true;
  const stat = readProc(pid, "stat");
  return stat !== undefined && statFields(stat)[0] !== "Z"; // undefined: gone since kill(0)
}
