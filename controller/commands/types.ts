/** One subcommand: controller/cli.ts loads `commands/<name>.ts` and calls `run` with the remaining argv. */
export interface Command {
  summary: string;
  usage: string;
  /** Resolves to the process exit code; throws TskvError for reportable failures. */
  run(argv: string[]): Promise<number>;
}
