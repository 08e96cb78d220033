/**
 * When standard output or standard error goes away.
 *
 * `pyston-build | head -3` closes the pipe after three lines; a dropped ssh
 * session or a closed terminal makes every write fail with EIO; a redirect
 * to a full disk fails with ENOSPC. The choice: such a loss stops the build
 * as an interrupt does (the running tasks' process groups and cells are
 * killed, finished work is recorded, exit 130), because nobody is reading
 * any more, and a build that went on would go on unseen (a shell waits for
 * every command of a pipeline, so `| head` would block until the end). The
 * logs under build/logs stay the complete record, and a rerun resumes.
 *
 * Two ways a write fails, both handled here for every renderer:
 * - asynchronously, as an `error` event on the stream (pipes, terminals):
 *   {@link watchStreams} listens, so no error is ever unhandled;
 * - synchronously, as an exception from `write` (a file opened as stdout):
 *   {@link guardReporter} catches it around the renderer.
 * After a loss, writes to the lost stream are dropped; the other stream
 * still works, and gets one line saying why the build stops.
 */
import type { EngineEvent } from '../graph/events.js';
import type { Reporter } from './reporter.js';

/** Called once per lost stream, with a short reason such as `stdout closed (EPIPE)`. */
export type OnLost = (reason: string) => void;

const watched = new WeakMap<NodeJS.WritableStream, { lost: boolean; callbacks: Set<OnLost>; name: string }>();

function nameOf(stream: NodeJS.WritableStream): string {
  if (stream === process.stdout) return 'stdout';
  if (stream === process.stderr) return 'stderr';
  return 'output';
}

/** Whether a stream has failed (after which nothing more is written to it). */
export function isLost(stream: NodeJS.WritableStream): boolean {
  return watched.get(stream)?.lost === true;
}

/** Mark `stream` lost because of `error`, and tell every watcher once. */
export function markLost(stream: NodeJS.WritableStream, error: unknown): void {
  const w = watched.get(stream);
  if (!w || w.lost) return;
  w.lost = true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = `${w.name} closed${code ? ` (${code})` : ''}`;
  for (const cb of w.callbacks) cb(reason);
}

/**
 * Listen for write errors on `streams`; `onLost` is called once for each
 * stream that fails. Returns a function that stops calling `onLost` (the
 * error listener itself stays, so a late error is still handled).
 */
export function watchStreams(streams: readonly NodeJS.WritableStream[], onLost: OnLost): () => void {
  const added: { callbacks: Set<OnLost> }[] = [];
  for (const stream of new Set(streams)) {
    let w = watched.get(stream);
    if (!w) {
      const entry = { lost: false, callbacks: new Set<OnLost>(), name: nameOf(stream) };
      watched.set(stream, entry);
      w = entry;
      stream.on('error', (e: unknown) => markLost(stream, e));
    }
    w.callbacks.add(onLost);
    added.push(w);
  }
  return () => {
    for (const w of added) w.callbacks.delete(onLost);
  };
}

/**
 * Write `text` to `stream` unless it is lost; a synchronous failure marks it
 * lost instead of throwing.
 */
export function safeWrite(stream: NodeJS.WritableStream, text: string): void {
  if (isLost(stream)) return;
  try {
    stream.write(text);
  } catch (e) {
    markLost(stream, e);
  }
}

/**
 * A renderer that never throws because its output failed: a synchronous
 * write error marks the streams lost (calling `onLost`), and the renderer
 * gets no more events once `out` is lost, except that failures and warnings
 * still reach `err` through `fallback` when it is given.
 */
export function guardReporter(inner: Reporter, streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }, onLost: OnLost, fallback?: Reporter): Reporter {
  let told = false;
  const lost: OnLost = (reason) => {
    if (!told && !isLost(streams.err)) {
      told = true;
      safeWrite(streams.err, `warning: ${reason}: stopping the build as on an interrupt; build/logs/ has every task's full output\n`);
    }
    onLost(reason);
  };
  // @actions/core (github mode) writes to process.stdout whatever `out` is.
  const stop = watchStreams([streams.out, streams.err, process.stdout], lost);
  let broken = false;
  const deliver = (r: Reporter, e: EngineEvent): void => {
    try {
      r.onEvent(e);
    } catch (error) {
      // Only a failed write ends up here from a renderer; the stream it failed on is unknown.
      broken = true;
      markLost(streams.out, error);
      lost(`output failed (${(error as NodeJS.ErrnoException).code ?? 'write error'})`);
    }
  };
  return {
    onEvent(e: EngineEvent): void {
      if (!broken && !isLost(streams.out)) deliver(inner, e);
      else if (fallback && !isLost(streams.err)) deliver(fallback, e);
    },
    async close(): Promise<void> {
      try {
        await inner.close();
      } catch {
        // closing never throws (reporter.ts); a failed final write is a lost stream
      } finally {
        stop();
      }
    },
  };
}
