/**
 * A command a pipeline runs as it is, not through a shell: the PGO and
 * BOLT training runs and BOLT's check run are these.
 */
import type { ExecOptions, TaskContext } from '../graph/index.js';

export interface Command {
  /** The program: an absolute path, or a name looked up on PATH. */
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Variables added to the task's environment for this command. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * A workload that can be split: the arguments that make a run do the
   * k-th of n parts (runtime/train's `--shard k/n`), and n. The parts
   * together do what one run does. Absent: one run.
   */
  readonly shards?: { readonly count: number; readonly args: (k: number, n: number) => readonly string[] };
}

/**
 * Run a command, split in its shards when it has them: always the same
 * parts (so the same profile whatever the load), as many at once as there
 * are free job slots (the task's own plus those tryExtraJobs finds free),
 * the rest one after another. Every part runs even when one fails; then
 * the first failure is thrown. Returns how many ran at once.
 */
export async function runSharded(ctx: TaskContext, cmd: Command, options: ExecOptions): Promise<number> {
  const opts: ExecOptions = { cwd: cmd.cwd, ...options, env: { ...(cmd.env ?? {}), ...(options.env ?? {}) } };
  const shards = cmd.shards;
  if (!shards || shards.count <= 1) {
    await ctx.exec(cmd.file, cmd.args, opts);
    return 1;
  }
  const extra = ctx.tryExtraJobs(shards.count - 1);
  try {
    const lanes = 1 + extra.count;
    ctx.log(`training in ${shards.count} shards, ${lanes} at once (${extra.count} free job slot(s) taken from the -j budget)`);
    const queue = Array.from({ length: shards.count }, (_, k) => k);
    const errors: unknown[] = [];
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
          try {
            await ctx.exec(cmd.file, [...cmd.args, ...shards.args(k, shards.count)], opts);
          } catch (e) {
            errors.push(e);
          }
        }
      }),
    );
    if (errors.length) throw errors[0];
    return lanes;
  } finally {
    extra.release();
  }
}
