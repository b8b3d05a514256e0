/**
 * Live lines of work that runs outside any progress group (the etcd tarball pushed while preflight
 * runs), by host. On a TTY the group on screen shows them under its own lines (tty-view.ts); a
 * host's line goes away when its work ends or fails.
 */
export class BackgroundLines {
  readonly #lines = new Map<string, string>();

  /** The host's current line; undefined: its work ended. */
  set(host: string, line: string | undefined): void {
    if (line === undefined) this.#lines.delete(host);
    else this.#lines.set(host, line);
  }

  /** Every host's current line, in the order each began. */
  all(): [host: string, line: string][] {
    return [...this.#lines];
  }
}

/** The run's one board of background lines (a run has one live view). */
export const backgroundLines = new BackgroundLines();
