/**
 * A command a pipeline runs as it is, not through a shell: the PGO and
 * BOLT training runs and BOLT's check run are these.
 */
export interface Command {
  /** The program: an absolute path, or a name looked up on PATH. */
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Variables added to the task's environment for this command. */
  readonly env?: Readonly<Record<string, string>>;
}
