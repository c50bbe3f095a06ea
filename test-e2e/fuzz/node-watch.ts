// What the fuzzer checks on the node itself: its resident memory, sampled from /proc while it runs, and
// its log, which must hold no fatal line (an uncaught exception, an unhandled rejection, a failed
// assertion) and names the handlers that failed with something other than a typed error.
import { readFileSync } from "node:fs";

/** How often resident memory is sampled. */
const sampleIntervalMs = 200;

export class RssSampler {
  private peakBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), sampleIntervalMs);
  }

  /** The largest resident set seen, in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakBytes;
  }

  private sample(): void {
    const bytes = residentBytes(this.pid);
    if (bytes !== undefined) this.peakBytes = Math.max(this.peakBytes, bytes);
  }
}

/** VmRSS of a process; undefined once it is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface LogFindings {
  /** Fatal lines: the node stopped, or was about to. */
  readonly fatal: string[];
  /** Error lines, by message: handlers that threw what they should have answered with a typed error. */
  readonly errors: Map<string, number>;
}

/** The node's log (pino JSON lines) from `fromByte` on; a last line still being written is left for later. */
export function scanLog(logFile: string, fromByte = 0): LogFindings {
  const text = readFileSync(logFile).subarray(fromByte).toString("utf8");
  const fatal: string[] = [];
  const errors = new Map<string, number>();
  for (const line of text.slice(0, text.lastIndexOf("\n") + 1).split("\n")) {
    if (line.trim() === "") continue;
    let entry: { level?: number; msg?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line);
    } catch {
      fatal.push(`not a log line (a crash's stack?): ${line.slice(0, 300)}`);
      continue;
    }
    if ((entry.level ?? 0) >= 60 || /unhandled|uncaught|assertion failed/i.test(line))
      fatal.push(line.slice(0, 600));
    else if ((entry.level ?? 0) >= 50) {
      const what = `${entry.msg}${entry.err?.message ? `: ${entry.err.message}` : ""}`.slice(0, 200);
      errors.set(what, (errors.get(what) ?? 0) + 1);
    }
  }
  return { fatal, errors };
}
