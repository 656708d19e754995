import { hostname } from "node:os";
import { isDeepStrictEqual } from "node:util";
import { deserialize } from "node:v8";
import path from "node:path";
import { existsSync, realpathSync } from "node:fs";
import { FlorUsageError } from "../errors.js";
import { findRepositoryRoot, layoutFor, type ProjectLayout } from "../project-layout.js";
import { JournalWriter } from "../journal/journal-writer.js";
import { JOURNAL_FORMAT, REPLAY_JOURNAL_FORMAT, type EndRecord, type JsonValue, type JournalRecord } from "../journal/records.js";
import { JournalEncoder, encodeRecord } from "../journal/encode.js";
import { scalarOf } from "../journal/value-encoding.js";
import { captureParts, captureState, checkCheckpointable, restoreState } from "../checkpoints/object-state.js";
import { CheckpointWriter, type NamedCapture } from "../checkpoints/checkpoint-writer.js";
import { CheckpointPolicy } from "../checkpoints/checkpoint-policy.js";
import { describeProblem, unusableWarning, type StateProblem } from "../checkpoints/round-trip.js";
import { snapshotWorkingTree } from "../versions/snapshot.js";
import { castToDefault, parseKwargs } from "./kwargs.js";
import { ObjectStore } from "../checkpoints/object-store.js";
import { EXIT_CANNOT_FAST_FORWARD, replaySpecFromEnvironment, type CheckpointRef, type ReplaySpec } from "./replay-spec.js";
import { ReplayDirector, ReplayMismatch, type IterationAction } from "./replay-director.js";
import { nameProblem } from "../journal/names.js";
import { ParentWatch } from "./parent-watch.js";
import { taskHost } from "./task-host-hook.js";

export interface FlorOptions {
  /** The entry script (default: `process.argv[1]`); its repository is the project. */
  script?: string;
  /** The script's arguments, where `--kwargs` is read (default: `process.argv.slice(2)`). */
  argv?: readonly string[];
  /** Commit at normal process exit (default: true). */
  autoCommit?: boolean;
  /** Print usage mistakes (bad `--kwargs`) and exit with code 2 instead of throwing (default: false). */
  exitOnUsageError?: boolean;
}

export interface CheckpointOptions {
  /**
   * Checkpoint an outermost iteration only while what checkpoints cost the loop, end to end (capturing on
   * the training thread; starting the checkpoint thread, hashing and storing there), stays under this
   * fraction of the loop's time (e.g. 0.01); the first one's cost is estimated before it is taken. The
   * last iteration is always checkpointed; replay starts from the nearest earlier checkpoint. Default:
   * every iteration.
   */
  maxOverhead?: number;
}

/** What identifies the current run; see the README's SDK section. */
export interface RunInfo {
  projid: string;
  tstamp: string;
  filename: string;
  vid: string;
  journal: string;
}

type EndStatus = EndRecord["status"];

/** Iteration times per `its` record at most; a loop that logs nothing still reaches the file. */
const TIMES_PER_RECORD = 4096;

interface LoopFrame {
  /** Iteration `index` starts with this item. */
  begin(item: unknown, index: number): void;
  /** The iteration's body finished. */
  end(): void;
  /** The items ran out (not a `break` or an exception). */
  completed(): void;
  /** The loop is left, however. */
  close(): void;
}

/** The state of one run, from the first SDK call to `commit()`. */
class ActiveRun {
  readonly info: RunInfo;
  readonly writer: JournalWriter;
  readonly encoder = new JournalEncoder();
  readonly objectsDir: string;
  /** Started at registration without a bound, else by the first checkpoint the policy takes: runs without checkpoints never pay for the thread. */
  checkpoints: CheckpointWriter | null = null;
  readonly policy = new CheckpointPolicy();
  /** The last outermost iteration, when the overhead bound skipped its checkpoint. */
  uncheckpointed: number | null = null;
  /** No more checkpoints: the state cannot be captured, or the first checkpoint did not restore. */
  checkpointsStopped = false;
  /** Set after the snapshot, so timings measure the script, not FlorDB's start-up. */
  readonly started: number;
  /** Open iterations, innermost last. */
  readonly stack: number[] = [];
  nextContext = 1;
  /** Times (seconds) of ended iterations with consecutive contexts from `timesFrom`, journaled as one `its` record. */
  private times: number[] = [];
  private timesFrom = 0;

  private constructor(info: RunInfo, writer: JournalWriter, objectsDir: string, header: JournalRecord) {
    this.info = info;
    this.writer = writer;
    this.objectsDir = objectsDir;
    writer.append(encodeRecord(header));
    writer.flush();
    // Every flush carries the times of the iterations that ended before it: a killed run keeps them.
    writer.beforeFlush = () => this.writeTimes();
    this.started = performance.now();
  }

  /** Iteration `id` ended after `seconds`. */
  iterationEnded(id: number, seconds: number): void {
    const count = this.times.length;
    if (count > 0 && (id !== this.timesFrom + count || count >= TIMES_PER_RECORD)) this.writeTimes();
    if (this.times.length === 0) this.timesFrom = id;
    this.times.push(seconds);
  }

  private writeTimes(): void {
    if (this.times.length === 0) return;
    const line = this.encoder.iterationTimes(this.timesFrom, this.times);
    this.times = [];
    this.writer.append(line);
  }

  /** A new run of the working tree's code: its vid is a snapshot, its journal a new file. */
  static record(layout: ProjectLayout, filename: string, argv: readonly string[]): ActiveRun {
    // performance.now() counts from the process's start (timeOrigin): at the first flordb call, that is
    // node's start plus the script's imports.
    const imp = Math.round(performance.now()) / 1000;
    const snapshot = snapshotWorkingTree(layout.root);
    const { writer, tstamp } = JournalWriter.create(layout.journalsDir, new Date());
    const info = { projid: layout.projid, tstamp: tstamp.toISOString(), filename, vid: snapshot.vid, journal: writer.file };
    return new ActiveRun(info, writer, layout.objectsDir, {
      k: "run",
      format: JOURNAL_FORMAT,
      projid: layout.projid,
      tstamp: info.tstamp,
      filename,
      vid: snapshot.vid,
      pid: process.pid,
      host: hostname(),
      argv: [...argv],
      node: process.version,
      imp,
    });
  }

  /** A replay of a recorded run: its identity is the original's; the journal says what the replay covers. */
  static replay(spec: ReplaySpec): ActiveRun {
    const writer = JournalWriter.open(spec.journal);
    const { projid, tstamp, filename, vid } = spec.run;
    const info = { projid, tstamp, filename, vid: vid ?? "", journal: writer.file };
    return new ActiveRun(info, writer, spec.objectsDir, {
      k: "replay",
      format: REPLAY_JOURNAL_FORMAT,
      vid,
      projid,
      tstamp,
      filename,
      job: spec.job,
      task: spec.task,
      attempt: spec.attempt,
      names: spec.names,
      loop: spec.loop,
      segments: spec.segments.map(({ from, to }): [number, number] => [from, to]),
      before: spec.before,
      after: spec.after,
      pid: process.pid,
      host: hostname(),
      node: process.version,
    });
  }

  seconds(since: number): number {
    return microseconds(performance.now() - since);
  }
}

/**
 * The SDK. A script uses the shared instance `flor`; tests and benchmarks may create their own.
 * Every method starts the run on first use: the working tree is snapshotted (its vid) and a journal
 * is opened under `.flor/journals/`.
 */
export class Flor {
  private readonly options: FlorOptions;
  private active: ActiveRun | null = null;
  /** Set in a replay child (`FLOR_REPLAY`): decides what executes and what is journaled. */
  private director: ReplayDirector | null = null;
  /** Set in a replay task: the task ends when the replay that started it is gone. */
  private parentWatch: ParentWatch | null = null;
  private layout: ProjectLayout | null = null;
  private filename = "";
  private kwargs: Map<string, string> | null = null;
  private readonly args = new Map<string, { value: JsonValue; src: "default" | "kwargs" }>();
  private readonly registered = new Map<string, object>();
  /** The states loaded for the running iteration that skips its inner loops, to check its end against. */
  private suffixStates = new Map<string, Buffer>();
  private checkpointOptions: CheckpointOptions = {};
  private exitHooked = false;
  private lastError: string | undefined;

  constructor(options: FlorOptions = {}) {
    this.options = options;
  }

  /** The current run, or null before the first SDK call and after `commit()`. */
  get run(): RunInfo | null {
    return this.active?.info ?? null;
  }

  /**
   * A hyper-parameter: `--kwargs name=value` on the command line overrides `defaultValue` (cast to
   * its type). The value is recorded with the run.
   */
  arg<T extends JsonValue>(name: string, defaultValue: T): T {
    const problem = nameProblem(name);
    if (problem !== null) throw new TypeError(`flor.arg(name, default): ${problem}`);
    const run = this.ensureRun();
    const known = this.args.get(name);
    if (known !== undefined) return known.value as T;
    if (this.director !== null) return this.recordedArg(name, defaultValue);
    const text = this.kwargs!.get(name);
    let value: JsonValue = defaultValue;
    if (text !== undefined) {
      try {
        value = castToDefault(name, text, defaultValue);
      } catch (error) {
        this.usageFailure(error);
      }
    }
    const src = text === undefined ? "default" : "kwargs";
    this.args.set(name, { value, src });
    run.writer.append(encodeRecord({ k: "arg", n: name, v: value, src }));
    return value as T;
  }

  /**
   * Wraps a loop and yields the same items. Each iteration is a context: values logged inside it carry
   * the loop's name and 0-based index. Iterations of an outermost loop end with a checkpoint of the
   * objects given to `checkpointing`.
   */
  loop(name: string, count: number): Generator<number, void, undefined>;
  loop<T>(name: string, items: Iterable<T>): Generator<T, void, undefined>;
  loop<T>(name: string, items: AsyncIterable<T>): AsyncGenerator<T, void, undefined>;
  loop<T>(
    name: string,
    items: number | Iterable<T> | AsyncIterable<T>,
  ): Generator<T | number, void, undefined> | AsyncGenerator<T, void, undefined> {
    const problem = nameProblem(name);
    if (problem !== null) throw new TypeError(`flor.loop(name, items): ${problem}`);
    if (typeof items === "number") {
      if (!Number.isInteger(items) || items < 0)
        throw new TypeError(`flor.loop("${name}", count): count must be a non-negative integer, got ${items}`);
      return this.syncLoop(name, range(items), false);
    }
    if (items !== null && typeof items === "object" && Symbol.asyncIterator in items)
      return this.asyncLoop(name, items as AsyncIterable<T>);
    if (items !== null && typeof items === "object" && Symbol.iterator in items) return this.syncLoop(name, items as Iterable<T>, true);
    throw new TypeError(`flor.loop("${name}", items): items must be a count, an iterable or an async iterable`);
  }

  /** Records `value` under `name` in the current loop context and returns it. */
  log<T>(name: string, value: T): T {
    const run = this.active ?? this.ensureRun();
    if (this.director !== null && !this.director.responsible(name)) return value;
    if (typeof name !== "string" || name === "") throw new TypeError("flor.log(name, value): name must be a non-empty string");
    const ctx = run.stack.length === 0 ? null : run.stack[run.stack.length - 1]!;
    let line: string;
    try {
      line = run.encoder.log(ctx, name, value);
    } catch (error) {
      throw new TypeError(`flor.log(${JSON.stringify(name)}, value): ${(error as Error).message}`);
    }
    run.writer.append(line);
    return value;
  }

  /**
   * Registers state to checkpoint at the end of every iteration of the outermost loop: objects with
   * `stateDict()`/`loadStateDict(state)`, or plain data (own properties, typed arrays, Maps) that is
   * restored in place.
   */
  checkpointing(objects: Record<string, object>, options?: CheckpointOptions): void {
    this.ensureRun();
    const maxOverhead = options?.maxOverhead;
    if (maxOverhead !== undefined && !(typeof maxOverhead === "number" && maxOverhead > 0 && maxOverhead <= 1)) {
      throw new TypeError(`flor.checkpointing: maxOverhead must be a fraction in (0, 1], got ${String(maxOverhead)}`);
    }
    for (const [name, value] of Object.entries(objects)) {
      if (typeof value !== "object" || value === null)
        throw new TypeError(`flor.checkpointing: "${name}" must be an object, got ${value === null ? "null" : typeof value}`);
      checkCheckpointable(name, value);
      this.registered.set(name, value);
    }
    if (options !== undefined) this.checkpointOptions = { ...options };
    // Unbounded, the first iteration's end needs the checkpoint thread: started now, its start overlaps what
    // comes before the loop. With a bound, it waits for the first checkpoint the policy takes, if any.
    const run = this.active!;
    if (this.checkpointOptions.maxOverhead === undefined && this.checkpointsOn(run))
      run.checkpoints ??= new CheckpointWriter(run.objectsDir, run.info.journal);
  }

  /** Ends the run: flushes the journal and closes it. Called automatically at normal exit. */
  async commit(): Promise<void> {
    this.finish("ok", null);
  }

  private ensureRun(): ActiveRun {
    if (this.active !== null) return this.active;
    taskHost()?.checkOpen();
    const spec = this.director?.spec ?? replaySpecFromEnvironment();
    let run: ActiveRun;
    this.parentWatch ??= ParentWatch.fromEnvironment();
    if (spec !== null) {
      this.director = new ReplayDirector(spec);
      run = ActiveRun.replay(spec);
    } else {
      if (this.layout === null) this.locate();
      run = ActiveRun.record(this.layout!, this.filename, this.options.argv ?? process.argv.slice(2));
    }
    this.active = run;
    for (const [name, { value, src }] of this.args) run.writer.append(encodeRecord({ k: "arg", n: name, v: value, src }));
    this.hookExit();
    return run;
  }

  private locate(): void {
    const argv = this.options.argv ?? process.argv.slice(2);
    try {
      this.kwargs = parseKwargs(argv);
    } catch (error) {
      this.usageFailure(error);
    }
    const script = this.options.script ?? process.argv[1];
    const scriptPath = script === undefined ? process.cwd() : realpathIfExists(path.resolve(script));
    const root = realpathSync(findRepositoryRoot(script === undefined ? scriptPath : path.dirname(scriptPath)));
    this.layout = layoutFor(root);
    this.filename = script === undefined ? "<repl>" : path.relative(root, scriptPath).split(path.sep).join("/");
  }

  private usageFailure(error: unknown): never {
    if (this.options.exitOnUsageError && error instanceof FlorUsageError) {
      process.stderr.write(`flor: ${error.message}\n${error.hint === undefined ? "" : `${error.hint}\n`}`);
      process.exit(2);
    }
    throw error;
  }

  private *syncLoop<T>(name: string, items: Iterable<T>, recordValues: boolean): Generator<T, void, undefined> {
    if (this.skipsInnerLoop()) return;
    const frame = this.openLoop(name, recordValues);
    const director = this.fastForwarding(name);
    try {
      let index = 0;
      for (const item of items) {
        const step = director === null ? "run" : this.replayStep(director, index);
        if (step === "stop") return;
        if (step === "skip") {
          index++;
          continue;
        }
        frame.begin(item, index++);
        yield item;
        frame.end();
      }
      if (director !== null) this.replayLoopCompleted(director, index);
      frame.completed();
    } finally {
      frame.close();
    }
  }

  private async *asyncLoop<T>(name: string, items: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
    if (this.skipsInnerLoop()) return;
    const frame = this.openLoop(name, true);
    const director = this.fastForwarding(name);
    try {
      let index = 0;
      for await (const item of items) {
        const step = director === null ? "run" : this.replayStep(director, index);
        if (step === "stop") return;
        if (step === "skip") {
          index++;
          continue;
        }
        frame.begin(item, index++);
        yield item;
        frame.end();
      }
      if (director !== null) this.replayLoopCompleted(director, index);
      frame.completed();
    } finally {
      frame.close();
    }
  }

  /** In a replay child, the director when this loop is the outermost one, whose iterations are fast-forwarded. */
  private fastForwarding(name: string): ReplayDirector | null {
    const run = this.active;
    if (this.director === null || run === null || run.stack.length > 0) return null;
    try {
      if (!this.director.claims(name)) return null;
      run.writer.append(encodeRecord({ k: "phase", p: "loop" }));
      return this.director;
    } catch (error) {
      return this.cannotFastForward(error);
    }
  }

  /**
   * In a replay child, whether a loop opening now inside an outermost iteration is skipped: the iteration
   * runs without its inner loops, from its end-of-iteration checkpoint, loaded here at the first of them.
   */
  private skipsInnerLoop(): boolean {
    const run = this.active;
    if (this.director === null || run === null || run.stack.length === 0) return false;
    try {
      const action = this.director.innerLoop();
      if (action === null) return false;
      if (action.restore !== null) this.suffixStates = this.restore(action.restore);
      return true;
    } catch (error) {
      return this.cannotFastForward(error);
    }
  }

  /**
   * An outermost iteration that skipped its inner loops ended: the code after them must have left the
   * registered state as the checkpoint holds it (else that code changed it again, and what it logged
   * cannot be trusted).
   */
  private checkSuffixState(): void {
    try {
      const state = this.director!.iterationEnded();
      if (state === null) return;
      const loaded = this.suffixStates;
      this.suffixStates = new Map();
      for (const name of Object.keys(state.objects)) {
        const value = this.registered.get(name);
        // Compared as values, not bytes: V8 may serialise the same number differently once it was deserialised.
        if (value === undefined || !isDeepStrictEqual(deserialize(loaded.get(name)!), deserialize(captureState(name, value))))
          throw new ReplayMismatch(
            `after the inner loops of iteration ${state.iteration}, the code changes "${name}", so running it on the end-of-iteration checkpoint is not the recorded run`,
          );
      }
    } catch (error) {
      this.cannotFastForward(error);
    }
  }

  /** Carries out the director's decision for item `index`: restores a checkpoint, or ends the replay. */
  private replayStep(director: ReplayDirector, index: number): "run" | "skip" | "stop" {
    let action: IterationAction;
    try {
      action = director.next(index);
      if (action.kind === "skip") return "skip";
      if (action.restore !== null) this.restore(action.restore);
    } catch (error) {
      return this.cannotFastForward(error);
    }
    if (action.kind === "run") return "run";
    if (action.exit) this.endReplay();
    this.active!.writer.append(encodeRecord({ k: "phase", p: "after" }));
    return "stop";
  }

  private replayLoopCompleted(director: ReplayDirector, items: number): void {
    let over: boolean;
    try {
      over = director.completed(items);
    } catch (error) {
      this.cannotFastForward(error);
    }
    if (over) this.endReplay();
    this.active!.writer.append(encodeRecord({ k: "phase", p: "after" }));
  }

  /** Loads a checkpoint into the registered objects, in place; returns the states it loaded, by name. */
  private restore(checkpoint: CheckpointRef): Map<string, Buffer> {
    const objects = new ObjectStore(this.active!.objectsDir);
    const missing = Object.keys(checkpoint.objects).filter((name) => !this.registered.has(name));
    if (missing.length > 0)
      throw new ReplayMismatch(`the checkpoint holds ${missing.join(", ")}, which this version never registers with flor.checkpointing`);
    const states = new Map<string, Buffer>();
    for (const [name, hash] of Object.entries(checkpoint.objects)) {
      const bytes = objects.get(hash);
      restoreState(this.registered.get(name)!, bytes);
      states.set(name, bytes);
    }
    return states;
  }

  /** The replay has everything it was asked for: the rest of the script is not needed. */
  private endReplay(): never {
    this.finish("ok", 0);
    process.exit(0);
  }

  private cannotFastForward(error: unknown): never {
    this.lastError = `cannot replay from checkpoints: ${(error as Error).message}`;
    process.stderr.write(`flor: ${this.lastError}\n`);
    this.finish("failed", EXIT_CANNOT_FAST_FORWARD);
    process.exit(EXIT_CANNOT_FAST_FORWARD);
  }

  private recordedArg<T extends JsonValue>(name: string, defaultValue: T): T {
    const recorded = this.director!.spec.args;
    if (Object.hasOwn(recorded, name)) {
      this.args.set(name, { value: recorded[name]!, src: "default" });
      return recorded[name] as T;
    }
    process.stderr.write(
      `flor: warning: the recorded run has no flor.arg "${name}"; replaying with its default ${JSON.stringify(defaultValue)}\n`,
    );
    this.args.set(name, { value: defaultValue, src: "default" });
    return defaultValue;
  }

  /** One execution of a `flor.loop`, shared by the sync and async generators (which differ only in `for await`). */
  private openLoop(name: string, recordValues: boolean): LoopFrame {
    const run = this.ensureRun();
    const parent = run.stack.length === 0 ? null : run.stack[run.stack.length - 1]!;
    const t0 = performance.now();
    let count = 0;
    let open: { id: number; start: number } | null = null;
    // The latest iteration's context, index and end, and whether it had an item value: an iteration that
    // continues it needs no `ctx` record (journal format 2), and starts when it ended.
    let lastId = -1;
    let lastIndex = -1;
    let lastValued = false;
    let lastEnd = t0;
    // The latest context's record may have been dropped (a full disk): then the next one is written out.
    let lastGaps = run.writer.gaps;
    return {
      begin: (item, index) => {
        const id = run.nextContext++;
        const value = recordValues ? scalarOf(item) : undefined;
        if (value !== undefined || lastValued || lastId !== id - 1 || lastIndex !== index - 1 || lastGaps !== run.writer.gaps) {
          run.writer.append(run.encoder.context(id, parent, name, index, value));
          lastGaps = run.writer.gaps;
        }
        lastId = id;
        lastIndex = index;
        lastValued = value !== undefined;
        run.stack.push(id);
        open = { id, start: count === 0 ? performance.now() : lastEnd };
      },
      end: () => {
        lastEnd = this.exit(run, open!, t0);
        open = null;
        count++;
      },
      completed: () => {
        if (parent === null) this.checkpointLastIteration(run);
      },
      close: () => this.closeLoop(run, name, parent, count, t0, open),
    };
  }

  /** An iteration's body finished; returns when. */
  private exit(run: ActiveRun, open: { id: number; start: number }, loopStart: number): number {
    const now = performance.now();
    this.pop(run, open.id);
    if (run.stack.length === 0) this.parentWatch?.check();
    if (run.stack.length === 0 && this.director !== null) this.checkSuffixState();
    run.iterationEnded(open.id, microseconds(now - open.start));
    if (run.stack.length > 0 || !this.checkpointsOn(run)) {
      run.writer.flushIfStale(now);
      return now;
    }
    const costs = { thread: () => run.checkpoints?.threadCost() ?? null, stateBytes: () => this.stateBytes() };
    if (!run.policy.decide(this.checkpointOptions.maxOverhead, now, loopStart, costs)) {
      run.uncheckpointed = open.id;
      run.writer.flushIfStale(now);
      return now;
    }
    // The iteration's records reach the file before its checkpoint record (written by the checkpoint thread).
    run.writer.flush();
    this.checkpoint(run, open.id);
    return performance.now();
  }

  /**
   * Whether the run checkpoints: not when no objects are registered, in a replay (which only reads
   * checkpoints), or when checkpointing stopped for the run.
   */
  private checkpointsOn(run: ActiveRun): boolean {
    if (this.registered.size === 0 || this.director !== null || run.checkpointsStopped) return false;
    if (run.checkpoints?.unusable) {
      run.checkpointsStopped = true;
      run.uncheckpointed = null;
      return false;
    }
    return true;
  }

  /** The registered state's serialised size now, for the policy's estimate of a first checkpoint (0 for a state that cannot be captured: its checkpoint says why). */
  private stateBytes(): number {
    let bytes = 0;
    for (const [name, value] of this.registered) {
      const captured = captureParts(name, value, false);
      if (!("reason" in captured)) bytes += captured.bytes;
    }
    return bytes;
  }

  /** An outermost loop finished normally: its final state is checkpointed even when the policy skipped it. */
  private checkpointLastIteration(run: ActiveRun): void {
    if (run.uncheckpointed === null || !this.checkpointsOn(run)) return;
    run.writer.flush();
    this.checkpoint(run, run.uncheckpointed, true);
  }

  /** A loop ended (normally, by `break`, or by an exception); an iteration cut short gets no checkpoint. */
  private closeLoop(
    run: ActiveRun,
    name: string,
    parent: number | null,
    count: number,
    t0: number,
    open: { id: number; start: number } | null,
  ): void {
    if (this.active !== run) return;
    if (open !== null) {
      this.pop(run, open.id);
      run.iterationEnded(open.id, run.seconds(open.start));
      count++;
    }
    run.writer.append(encodeRecord({ k: "loop", c: parent, n: name, count, t0: microseconds(t0 - run.started), s: run.seconds(t0) }));
    if (parent === null) run.writer.flush();
  }

  private pop(run: ActiveRun, id: number): void {
    if (run.stack[run.stack.length - 1] === id) run.stack.pop();
    else run.stack.splice(run.stack.lastIndexOf(id), 1);
  }

  /**
   * Captures every registered object's state now and copies it (the one copy a consistent snapshot
   * needs) to the checkpoint thread (started by the run's first checkpoint: a run that takes none never pays
   * for it), which stores and journals it. The run's first checkpoint is checked:
   * here for what its bytes cannot show (class instances, functions, getters), there by a round trip.
   * A state that cannot be captured stops checkpointing with a warning; the training goes on.
   */
  private checkpoint(run: ActiveRun, ctx: number, skipped = false): void {
    const started = performance.timeOrigin + performance.now();
    const first = run.policy.first;
    const states: NamedCapture[] = [];
    for (const [name, value] of this.registered) {
      const captured = captureParts(name, value, first);
      if ("reason" in captured) {
        this.stopCheckpointing(run, ctx, captured, first);
        return;
      }
      states.push({ name, ...captured });
    }
    run.checkpoints ??= new CheckpointWriter(run.objectsDir, run.info.journal);
    run.checkpoints.save(ctx, states, started, first);
    run.policy.took(performance.timeOrigin + performance.now() - started, skipped);
    run.uncheckpointed = null;
  }

  /** The state cannot be checkpointed: said once; at the first checkpoint, the journal marks the run's checkpoints unusable. */
  private stopCheckpointing(run: ActiveRun, ctx: number, problem: StateProblem, first: boolean): void {
    run.checkpointsStopped = true;
    run.uncheckpointed = null;
    if (first) {
      run.writer.append(encodeRecord({ k: "ckcheck", c: ctx, ok: false, o: problem.object, p: problem.path, r: problem.reason }));
      process.stderr.write(unusableWarning(problem));
    } else {
      process.stderr.write(
        `flor: warning: no more checkpoints in this run (replay starts from the earlier ones): ${describeProblem(problem)}\n`,
      );
    }
  }

  private finish(status: EndStatus, exitCode: number | null): void {
    const run = this.active;
    if (run === null) return;
    this.active = null;
    // Checkpoint records must reach the journal before its end: ingestion stops reading at `end`.
    run.writer.flush();
    if (run.checkpoints !== null || run.uncheckpointed !== null) {
      const thread = run.checkpoints?.close() ?? null;
      run.writer.append(encodeRecord(run.policy.record(this.checkpointOptions.maxOverhead, thread)));
    }
    const end: EndRecord = { k: "end", status, exit: exitCode, s: run.seconds(run.started) };
    if (this.lastError !== undefined && status !== "ok") end.error = this.lastError;
    run.writer.append(encodeRecord(end));
    run.writer.close();
    const unused = [...(this.kwargs?.keys() ?? [])].filter((name) => !this.args.has(name));
    if (status === "ok" && unused.length > 0) process.stderr.write(`flor: warning: --kwargs ${unused.join(", ")} never read by flor.arg\n`);
  }

  /** What one run of the script set up, forgotten when a task host runs the next task in this process. */
  private forgetRun(): void {
    this.director = null;
    this.layout = null;
    this.filename = "";
    this.kwargs = null;
    this.args.clear();
    this.registered.clear();
    this.suffixStates = new Map();
    this.checkpointOptions = {};
    this.lastError = undefined;
  }

  private hookExit(): void {
    if (this.exitHooked || this.options.autoCommit === false) return;
    this.exitHooked = true;
    const host = taskHost();
    if (host !== undefined) {
      // A warm task host: the task's end, not the process's, finishes the run; the next task starts afresh.
      host.attach((code) => {
        this.finish(code === 0 ? "ok" : "failed", code);
        this.forgetRun();
      });
      return;
    }
    process.on("uncaughtExceptionMonitor", (error) => {
      this.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    });
    // No SIGINT/SIGTERM handlers: a handler only runs when the event loop turns, so a synchronous
    // training loop could no longer be stopped. A signalled run ends like a killed one: incomplete,
    // with everything flushed before it.
    process.on("exit", (code) => this.finish(code === 0 ? "ok" : "failed", code));
  }
}

function realpathIfExists(file: string): string {
  return existsSync(file) ? realpathSync(file) : file;
}

/** Milliseconds to seconds, rounded to the microsecond. */
function microseconds(ms: number): number {
  return Math.round(ms * 1000) / 1e6;
}

function* range(count: number): Generator<number, void, undefined> {
  for (let i = 0; i < count; i++) yield i;
}
