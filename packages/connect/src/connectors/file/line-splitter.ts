// Turns the bytes of a file, read in chunks from a known byte position, into complete UTF-8 lines, each
// with the byte position just after its newline. Pure: no I/O; the file source feeds it what it reads.
// Splitting on the byte 0x0A is safe in UTF-8 (it never occurs inside a multi-byte character), so positions
// are exact byte offsets whatever the text.

const newline = 0x0a;
const carriageReturn = 0x0d;

/** A complete line: its text without the newline (or "\r\n") and the byte position just after it. */
export interface Line {
  text: string;
  end: number;
}

export class LineSplitter {
  /** Bytes read after the last complete line: a line whose newline has not arrived (a writer mid-line). */
  private pending: Buffer = Buffer.alloc(0);

  /** @param position the byte where reading starts: the start of a line. */
  constructor(private position: number) {}

  /** The byte just after the last complete line: where a restart must begin. */
  get linePosition(): number {
    return this.position;
  }

  /** How many bytes of an incomplete line are held (the caller bounds this). */
  get pendingBytes(): number {
    return this.pending.length;
  }

  /** The byte where the next chunk must be read from. */
  get readPosition(): number {
    return this.position + this.pending.length;
  }

  /** Takes the next bytes of the file; returns the lines they complete, in order. */
  push(chunk: Buffer): Line[] {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lines: Line[] = [];
    let lineStart = 0;
    for (let at = data.indexOf(newline); at !== -1; at = data.indexOf(newline, lineStart)) {
      const lineEnd = at > lineStart && data[at - 1] === carriageReturn ? at - 1 : at;
      lines.push({ text: data.toString("utf8", lineStart, lineEnd), end: this.position + at + 1 });
      lineStart = at + 1;
    }
    this.position += lineStart;
    this.pending = Buffer.from(data.subarray(lineStart));
    return lines;
  }
}
