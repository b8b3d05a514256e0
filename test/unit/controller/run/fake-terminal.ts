/**
 * A terminal of rows x columns for the live view's tests: a TTY stream that interprets what
 * log-update writes (text, newlines, cursor up/down/column, erase line) into a buffer of lines,
 * the last `rows` of which are the screen.
 */
import { Writable } from 'node:stream';

export class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly rows: number;
  readonly columns: number;
  /** Scrollback and screen, top to bottom. */
  readonly lines: string[] = [''];
  /** Whether a line ever ran past the right edge (and wrapped). */
  wrapped = false;
  /** Rows of the buffer that writes erased, write by write. */
  readonly erased: Set<number>[] = [];
  #row = 0;
  #col = 0;

  constructor(rows = 24, columns = 80) {
    super({ decodeStrings: false });
    this.rows = rows;
    this.columns = columns;
  }

  /** The rows on screen now, as text. */
  screen(): string[] {
    return this.lines.slice(Math.max(0, this.lines.length - this.rows));
  }

  /** Everything written that is still in the scrollback or on screen, as text. */
  text(): string {
    return this.lines.join('\n');
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.#feed(chunk.toString());
    done();
  }

  #top(): number {
    return Math.max(0, this.lines.length - this.rows);
  }

  #put(ch: string): void {
    if (this.#col >= this.columns) {
      this.wrapped = true;
      this.#newline();
    }
    const line = this.lines[this.#row]!.padEnd(this.#col, ' ');
    this.lines[this.#row] = line.slice(0, this.#col) + ch + line.slice(this.#col + 1);
    this.#col++;
  }

  #newline(): void {
    this.#row++;
    this.#col = 0;
    if (this.#row === this.lines.length) this.lines.push('');
  }

  #feed(data: string): void {
    const erased = new Set<number>();
    this.erased.push(erased);
    // Escape sequences: CSI (ESC [ params final) and the private modes (ESC [ ? n h/l).
    const re = /\x1b\[([?0-9;]*)([A-Za-z])|([\s\S])/g;
    for (const m of data.matchAll(re)) {
      if (m[3] !== undefined) {
        if (m[3] === '\n') this.#newline();
        else if (m[3] === '\r') this.#col = 0;
        else this.#put(m[3]);
        continue;
      }
      const n = Number(m[1]) || 1;
      switch (m[2]) {
        case 'A':
          this.#row = Math.max(this.#top(), this.#row - n);
          break;
        case 'B':
          this.#row = Math.min(this.lines.length - 1, this.#row + n);
          break;
        case 'G':
          this.#col = n - 1;
          break;
        case 'K':
          if (m[1] === '2') {
            this.lines[this.#row] = '';
            erased.add(this.#row);
          } else this.lines[this.#row] = this.lines[this.#row]!.slice(0, this.#col);
          break;
        default:
        // Colours (m), cursor shown or hidden, synchronized output (h, l): nothing on screen.
      }
    }
  }
}
