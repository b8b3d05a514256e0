/**
 * The live view on a TTY: listr2's default renderer, held to the terminal's height. A group whose
 * whole tree fits is drawn as listr2 draws it. One that does not (20 hosts, each with a transfer
 * line, in 80x24) shows the hosts that failed and those still at work, as many as fit, and counts
 * the rest ("12 done", "5 waiting", "3 more at work"): a frame taller than the terminal would lose
 * its top (the group's title, its first hosts) and be redrawn whole on every tick. Under the group,
 * the live lines of work outside any group (background.ts), also bounded. What stays in the
 * scrollback when a group ends is at most half a screen: a big group's finished hosts as a count.
 */
import { EOL } from 'node:os';
import { DefaultRenderer, LISTR_DEFAULT_RENDERER_STYLE, type ListrDefaultRendererTask } from 'listr2';
import { type BackgroundLines, backgroundLines } from './background.ts';

/** What the view needs of its terminal: its size (a fake one in tests). */
export interface Screen {
  rows?: number;
  columns?: number;
}

type RendererArgs = ConstructorParameters<typeof DefaultRenderer>;

export type TtyViewOptions = RendererArgs[1] & { screen?: Screen; background?: BackgroundLines };

/** Rows a terminal has when it does not say. */
const DEFAULT_ROWS = 24;
/** Background lines shown at most, as a share of the terminal's rows (the rest are counted). */
const BACKGROUND_SHARE = 4;

const listrOutputIcon = LISTR_DEFAULT_RENDERER_STYLE.icon?.OUTPUT;
/** The icon listr2 puts before a task's output. */
const OUTPUT_ICON = typeof listrOutputIcon === 'string' ? listrOutputIcon : '›';

export class TtyView extends DefaultRenderer {
  /** tskv decides TTY or not by stderr (progress.ts); listr2 would fall back when stdout is not one. */
  static override nonTTY = true;
  readonly #tasks: ListrDefaultRendererTask[];
  readonly #screen: Screen;
  readonly #background: BackgroundLines;
  #ending = false;

  constructor(tasks: RendererArgs[0], options: TtyViewOptions, events: RendererArgs[2]) {
    super(tasks, options, events);
    this.#tasks = tasks;
    this.#screen = options.screen ?? process.stderr;
    this.#background = options.background ?? backgroundLines;
  }

  override end(): void {
    // The last frame stays in the scrollback: without the background lines, which are live only.
    this.#ending = true;
    super.end();
  }

  override create(options?: Parameters<DefaultRenderer['create']>[0]): string {
    // listr2's own frame first, always: it keeps each task's output as it comes.
    const full = super.create(options);
    // log-update leaves the cursor on a line of its own under the frame.
    const room = Math.max(3, (this.#screen.rows ?? DEFAULT_ROWS) - 1);
    const below = this.#ending ? [] : this.#backgroundLines(Math.floor(room / BACKGROUND_SHARE));
    const lines = full === '' ? [] : full.split(EOL);
    // The last frame stays in the scrollback of every group of the run: at most half a screen.
    const fits = this.#ending ? lines.length <= Math.floor(room / 2) : lines.length + below.length <= room;
    if (fits) return [...lines, ...below].join(EOL);
    return [...this.#compact(room - below.length, lines), ...below].join(EOL);
  }

  /** Every host's background line, at most `max` of them and a count of the rest. */
  #backgroundLines(max: number): string[] {
    const all = this.#background.all();
    if (all.length === 0) return [];
    const shown = all.length <= max ? all : all.slice(0, Math.max(0, max - 1));
    const lines = shown.flatMap(([host, line]) => this.format(`${host}: ${line}`, OUTPUT_ICON, 1));
    if (shown.length < all.length)
      lines.push(...this.format(`${all.length - shown.length} more moving`, OUTPUT_ICON, 1));
    return lines;
  }

  /** The group in `budget` lines: failed and busy hosts first, as many as fit, the others counted. */
  #compact(budget: number, full: string[]): string[] {
    const group = this.#tasks.length === 1 ? this.#tasks[0]! : undefined;
    if (!group?.hasSubtasks()) return full.slice(-budget);
    const subtasks = group.subtasks.filter((t) => t.isEnabled());
    const done = subtasks.filter((t) => t.isCompleted());
    const failed = subtasks.filter((t) => t.hasFailed());
    const busy = subtasks.filter((t) => t.isPending());
    const waiting = subtasks.filter((t) => !t.isCompleted() && !t.hasFailed() && !t.isPending());
    const count = (tasks: ListrDefaultRendererTask[], what: string) =>
      tasks.length > 0 ? this.format(`${tasks.length} ${what}`, this.style(tasks[0]!), 1) : [];
    const head = this.format(group.title ?? '', this.style(group), 0);
    const doneLine = count(done, 'done');
    const waitingLine = count(waiting, 'waiting');
    let room = budget - head.length - doneLine.length - waitingLine.length;
    const blocks = [...failed, ...busy].map((t) => this.#block(t));
    const shown: string[] = [];
    for (const [i, block] of blocks.entries()) {
      const after = blocks.length - i - 1;
      // A line kept for the count of those not shown, unless this is the last.
      if (block.length + (after > 0 ? 1 : 0) > room) {
        shown.push(...this.format(`${blocks.length - i} more at work`, this.style(busy[0] ?? group), 1));
        break;
      }
      shown.push(...block);
      room -= block.length;
    }
    return [...head, ...doneLine, ...shown, ...waitingLine].slice(0, budget);
  }

  /** A host's lines: a failure names the host and the first line of its error; a busy one, its output. */
  #block(task: ListrDefaultRendererTask): string[] {
    if (task.hasFailed()) {
      const why = task.message.error?.split('\n')[0];
      return this.format(why ? `${task.title}: ${why}` : (task.title ?? ''), this.style(task), 1);
    }
    const output = task.output?.trim();
    return [
      ...this.format(task.title ?? '', this.style(task), 1),
      ...(output ? this.format(output, OUTPUT_ICON, 2) : []),
    ];
  }
}
