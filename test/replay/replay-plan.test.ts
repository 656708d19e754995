import { describe, expect, it } from "vitest";
import {
  CHILD_START_SECONDS,
  hostStartSeconds,
  makespan,
  restoreSeconds,
  TASK_BOOKKEEPING_SECONDS,
  TSX_START_SECONDS,
  TSX_WARM_TASK_SECONDS,
  WARM_TASK_SECONDS,
  workersWorthStarting,
} from "../../src/replay/cost-model.js";
import { cheaper, chunkTasks, type PlannedTask, type RunPlan, splitIntoTasks } from "../../src/replay/replay-plan.js";

/** What planRun decides for one run, as chunkTasks and splitIntoTasks take it. */
type RunWork = Parameters<typeof chunkTasks>[0];

interface WorkOptions {
  id?: number;
  filename?: string;
  /** Iterations of the outermost loop, and the seconds each took (one number: all alike). */
  iterations: number;
  seconds?: number | number[];
  /** Iterations whose end has a usable checkpoint (default: every one). */
  checkpoints?: number[];
  /** What must execute (default: every iteration). */
  ranges?: [number, number][];
  before?: boolean;
  after?: boolean;
  /** Seconds from the run's start to its loop, and after the loop to its end. */
  prelude?: number;
  post?: number;
  /** Replay the whole script: no loop to fast-forward. */
  whole?: boolean;
  /** Seconds the run's process took to its first flordb call, when its journal said. */
  importSeconds?: number;
  /** Its tasks run in warm task hosts. */
  warm?: boolean;
}

const CHECKPOINT_BYTES = 40e6;

function work(options: WorkOptions): RunWork {
  const { iterations } = options;
  const seconds = Array.from({ length: iterations }, (_, i) =>
    Array.isArray(options.seconds) ? options.seconds[i]! : (options.seconds ?? 1),
  );
  const loopSeconds = seconds.reduce((a, b) => a + b, 0);
  const prelude = options.prelude ?? 0.5;
  const checkpoints = options.checkpoints ?? seconds.map((_, i) => i);
  const top = { name: "epoch", iterations, start: prelude, seconds: loopSeconds };
  return {
    run: {
      id: options.id ?? 1,
      projid: "project",
      tstamp: new Date("2026-01-01T00:00:00Z"),
      filename: options.filename ?? "train.mjs",
      vid: "a".repeat(40),
      status: "ok",
      seconds: prelude + loopSeconds + (options.post ?? 0.25),
      argv: ["--kwargs", "lr=0.1"],
      args: new Map([["lr", 0.1]]),
      recorded: new Set(["loss"]),
      coverage: new Map(),
      topLoops: [top],
      iterations: seconds.map((s, i) => ({ ctx: i + 1, iteration: i, value: i, seconds: s })),
      checkpoints: new Map(checkpoints.map((i) => [i, { objects: { model: `hash-${i}` }, bytes: CHECKPOINT_BYTES }])),
      checkpointsUnusable: null,
      inner: new Map(),
      importSeconds: options.importSeconds ?? null,
    },
    patch: { patches: { "train.mjs": "// patched" }, names: new Map() },
    names: ["grad_norm"],
    top: options.whole ? null : top,
    ranges: options.ranges ?? [[0, iterations]],
    before: options.before ?? false,
    after: options.after ?? false,
    usable: new Set(checkpoints),
    suffix: null,
    warm: options.warm ?? false,
  };
}

/** A task's fixed part: the runner's bookkeeping, the child's start, the run's prelude (0.5 s). */
const OVERHEAD = TASK_BOOKKEEPING_SECONDS + CHILD_START_SECONDS + 0.5;
const RESTORE = restoreSeconds(CHECKPOINT_BYTES);

/** The [from, to) ranges a task executes. */
const rangesOf = (task: PlannedTask) => task.spec.segments.map((s) => [s.from, s.to]);

describe("task splitting", () => {
  it("counts the run's recorded imports instead of the start constant, and tsx's launcher for TypeScript", () => {
    const [task] = chunkTasks(work({ iterations: 4, seconds: 1, ranges: [[2, 4]], importSeconds: 1.5 }), Infinity);
    expect(task!.estimatedSeconds).toBeCloseTo(TASK_BOOKKEEPING_SECONDS + 1.5 + 0.5 + RESTORE + 2, 9);
    const [ts] = chunkTasks(work({ iterations: 4, seconds: 1, ranges: [[2, 4]], importSeconds: 1.5, filename: "train.ts" }), Infinity);
    expect(ts!.estimatedSeconds).toBeCloseTo(TASK_BOOKKEEPING_SECONDS + TSX_START_SECONDS + 1.5 + 0.5 + RESTORE + 2, 9);
    const [old] = chunkTasks(work({ iterations: 4, seconds: 1, ranges: [[2, 4]] }), Infinity);
    expect(old!.estimatedSeconds).toBeCloseTo(OVERHEAD + RESTORE + 2, 9);
  });

  it("makes one task of a run's ranges when no cut is asked for, each range restoring the checkpoint before it", () => {
    const [task, ...rest] = chunkTasks(work({ iterations: 10, seconds: 2, ranges: [[4, 10]] }), Infinity);
    expect(rest).toEqual([]);
    expect(task!.spec.segments).toEqual([{ from: 4, to: 10, start: 4, restore: { iteration: 3, objects: { model: "hash-3" } } }]);
    expect(task!.iterations).toBe(6);
    expect(task!.estimatedSeconds).toBeCloseTo(OVERHEAD + RESTORE + 6 * 2, 9);
    expect(task!.spec).toMatchObject({
      run: { projid: "project", tstamp: "2026-01-01T00:00:00.000Z", filename: "train.mjs", vid: "a".repeat(40) },
      args: { lr: 0.1 },
      names: ["grad_norm"],
      loop: { name: "epoch", iterations: 10 },
      before: false,
      after: false,
      final: null,
      argv: ["--kwargs", "lr=0.1"],
      patches: { "train.mjs": "// patched" },
    });
  });

  it("starts from the beginning without a restore, and keeps separate ranges apart", () => {
    const [task] = chunkTasks(
      work({
        iterations: 10,
        ranges: [
          [0, 2],
          [5, 7],
        ],
      }),
      Infinity,
    );
    expect(task!.spec.segments).toEqual([
      { from: 0, to: 2, start: 0, restore: null },
      { from: 5, to: 7, start: 5, restore: { iteration: 4, objects: { model: "hash-4" } } },
    ]);
    expect(task!.estimatedSeconds).toBeCloseTo(OVERHEAD + 2 + RESTORE + 2, 9);
  });

  it("cuts a run into chunks of about the target cost, only where a checkpoint lets the next chunk start", () => {
    const tasks = chunkTasks(work({ iterations: 10, seconds: 2 }), 4);
    expect(tasks.map(rangesOf)).toEqual([[[0, 2]], [[2, 4]], [[4, 6]], [[6, 8]], [[8, 10]]]);
    for (const task of tasks.slice(1)) {
      const { from, restore } = task.spec.segments[0]!;
      expect(restore).toEqual({ iteration: from - 1, objects: { model: `hash-${from - 1}` } });
      expect(task.estimatedSeconds).toBeCloseTo(OVERHEAD + RESTORE + 4, 9);
    }
    // With a checkpoint only at the end of iteration 6, the only cut is before iteration 7.
    expect(chunkTasks(work({ iterations: 10, seconds: 2, checkpoints: [6] }), 4).map(rangesOf)).toEqual([[[0, 7]], [[7, 10]]]);
    expect(chunkTasks(work({ iterations: 10, seconds: 2, checkpoints: [] }), 4).map(rangesOf)).toEqual([[[0, 10]]]);
  });

  it("does not cut chunks that would cost less than twice a task's fixed cost", () => {
    expect(chunkTasks(work({ iterations: 100, seconds: 0.01 }), 0.001)).toHaveLength(1);
    // 0.5 s per iteration: a chunk needs 2 × 0.62 s, so three iterations, whatever the target.
    const tasks = chunkTasks(work({ iterations: 9, seconds: 0.5 }), 0.1);
    expect(tasks.map(rangesOf)).toEqual([[[0, 3]], [[3, 6]], [[6, 9]]]);
  });

  it("gives the prelude to the first chunk and the part after the loop to the last, loading the final state when the last chunk ends early", () => {
    const tasks = chunkTasks(work({ iterations: 10, seconds: 2, ranges: [[0, 6]], before: true, after: true, post: 3 }), 6);
    expect(tasks.map((t) => [rangesOf(t), t.spec.before, t.spec.after])).toEqual([
      [[[0, 3]], true, false],
      [[[3, 6]], false, true],
    ]);
    const last = tasks[1]!;
    expect(last.spec.final).toEqual({ iteration: 9, objects: { model: "hash-9" } });
    expect(last.estimatedSeconds).toBeCloseTo(OVERHEAD + 3 + RESTORE + RESTORE + 3 * 2, 9);
    // Ending at the loop's last iteration, the final state is there already.
    expect(chunkTasks(work({ iterations: 4, after: true }), Infinity)[0]!.spec.final).toBeNull();
  });

  it("in warm task hosts, charges a task importing the script's modules afresh, and the hosts' start once per worker", () => {
    const [task] = chunkTasks(work({ iterations: 4, seconds: 1, ranges: [[2, 4]], importSeconds: 1.5, warm: true }), Infinity);
    expect(task!.estimatedSeconds).toBeCloseTo(TASK_BOOKKEEPING_SECONDS + WARM_TASK_SECONDS + 0.5 + RESTORE + 2, 9);
    expect(task!.spec.fresh).toBeUndefined();
    const [ts] = chunkTasks(work({ iterations: 4, seconds: 1, ranges: [[2, 4]], filename: "train.ts", warm: true }), Infinity);
    expect(ts!.estimatedSeconds).toBeCloseTo(TASK_BOOKKEEPING_SECONDS + TSX_WARM_TASK_SECONDS + 0.5 + RESTORE + 2, 9);
    // Without hosts, each task is a process of its own, and says so.
    expect(chunkTasks(work({ iterations: 4, ranges: [[2, 4]] }), Infinity)[0]!.spec.fresh).toBe(true);
    // One host per script kind, paying the slowest start among its scripts.
    const scripts = [
      { filename: "a.ts", importSeconds: 1.5 },
      { filename: "b.mjs", importSeconds: 0.3 },
      { filename: "c.ts", importSeconds: 2 },
      { filename: "d.mjs", importSeconds: null },
    ];
    // The slowest recorded imports per kind (what tsx costs beyond its clock is paid before the first task comes).
    expect(hostStartSeconds(scripts)).toBeCloseTo(2 + 0.3, 9);
    expect(hostStartSeconds([{ filename: "e.ts", importSeconds: null }])).toBeCloseTo(CHILD_START_SECONDS + TSX_START_SECONDS, 9);
    expect(hostStartSeconds([])).toBe(0);
  });

  it("replays a whole script as one task, estimated from the run's recorded time and the child's start", () => {
    const [task, ...rest] = chunkTasks(work({ iterations: 5, seconds: 2, whole: true, filename: "train.ts" }), 1);
    expect(rest).toEqual([]);
    expect(task!.spec).toMatchObject({ loop: null, segments: [], before: true, after: true, final: null });
    expect(task!.iterations).toBe(5);
    expect(task!.estimatedSeconds).toBeCloseTo(0.5 + 10 + 0.25 + TASK_BOOKKEEPING_SECONDS + CHILD_START_SECONDS + TSX_START_SECONDS, 9);
  });

  it("never splits for one worker", () => {
    const works = [work({ id: 1, iterations: 40, seconds: 0.5 }), work({ id: 2, iterations: 3 })];
    expect(splitIntoTasks(works, 1).map((t) => [t.runId, rangesOf(t)])).toEqual([
      [1, [[0, 40]]],
      [2, [[0, 3]]],
    ]);
  });

  it("schedules longest first onto the worker free first, each worker free once its task processes have started", () => {
    expect(makespan([3, 2, 2, 1], 2)).toBe(4);
    // The first worker's processes started while planning (0.2 s left), the second's start with the job (1 s).
    expect(makespan([1, 1, 1], 2, [0.2, 1])).toBeCloseTo(2.2, 9);
    expect(makespan([1, 1, 1], 2, [1, 1])).toBe(3);
  });

  it("starts another worker only when its processes' start pays for itself", () => {
    // Ten 0.07 s tasks: a second worker starting its processes (0.35 s, which delays the others too) saves nothing.
    expect(workersWorthStarting(Array(10).fill(0.07), 2, 0.2, 0.35)).toEqual({ workers: 1, seconds: expect.closeTo(0.9, 9) });
    // Ten 1.5 s tasks: it halves the job.
    const long = workersWorthStarting(Array(10).fill(1.5), 2, 0.4, 0.7);
    expect(long.workers).toBe(2);
    expect(long.seconds).toBeLessThan(0.6 * (0.4 + 15));
    // The estimate is the schedule; the second worker's start was charged only to choose it.
    expect(long.seconds).toBeCloseTo(makespan(Array(10).fill(1.5), 2, [0.4, 0.7]), 9);
    // Never more workers than tasks.
    expect(workersWorthStarting([5], 4, 0, 0.7).workers).toBe(1);
  });

  it("does not split runs that already keep the workers busy", () => {
    const works = [1, 2, 3, 4].map((id) => work({ id, iterations: 5, seconds: 1 }));
    expect(splitIntoTasks(works, 2).map((t) => t.runId)).toEqual([1, 2, 3, 4]);
  });

  it("splits a long run so that two workers share it evenly, covering every iteration once", () => {
    const long = work({ iterations: 40, seconds: 0.5 });
    const whole = chunkTasks(long, Infinity)[0]!.estimatedSeconds;
    const tasks = splitIntoTasks([long], 2);
    expect(tasks.length).toBe(2);
    expect(tasks.flatMap(rangesOf)).toEqual([
      [0, 21],
      [21, 40],
    ]);
    expect(
      makespan(
        tasks.map((t) => t.estimatedSeconds),
        2,
      ),
    ).toBeLessThanOrEqual((1.1 * whole) / 2);
  });

  it("splits finer when halves would leave a worker idle: one long run next to a short one on three workers", () => {
    const works = [work({ id: 1, iterations: 60, seconds: 0.5 }), work({ id: 2, iterations: 2, seconds: 0.5 })];
    const whole = works.map((w) => chunkTasks(w, Infinity)[0]!.estimatedSeconds);
    const tasks = splitIntoTasks(works, 3);
    const long = tasks.filter((t) => t.runId === 1);
    expect(long.length).toBeGreaterThanOrEqual(3);
    // Contiguous, in order, each iteration once.
    const ranges = long.flatMap(rangesOf);
    expect(ranges[0]![0]).toBe(0);
    expect(ranges.at(-1)![1]).toBe(60);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1]);
    expect(long.reduce((sum, t) => sum + t.iterations, 0)).toBe(60);
    expect(
      makespan(
        tasks.map((t) => t.estimatedSeconds),
        3,
      ),
    ).toBeLessThan(Math.max(...whole) / 2);
  });

  it("keeps the split with the shortest schedule, not the finest one tried", () => {
    // 10 epochs of 2 s on 2 workers: halves (2 tasks) finish sooner than fifths, which pay the fixed cost 5 times.
    const long = work({ iterations: 10, seconds: 2 });
    const span = (tasks: PlannedTask[]) =>
      makespan(
        tasks.map((t) => t.estimatedSeconds),
        2,
      );
    const tasks = splitIntoTasks([long], 2);
    const whole = chunkTasks(long, Infinity)[0]!.estimatedSeconds;
    for (const perWorker of [1, 2, 4]) {
      expect(span(tasks)).toBeLessThanOrEqual(span(chunkTasks(long, whole / (2 * perWorker))));
    }
    expect(span(tasks)).toBeLessThanOrEqual(span(chunkTasks(long, Infinity)));
    expect(tasks).toHaveLength(2);
    expect(tasks.flatMap(rangesOf)).toEqual([
      [0, 6],
      [6, 10],
    ]);
  });

  it("cannot split a run without checkpoints, nor a whole-script replay", () => {
    const works = [
      work({ id: 1, iterations: 40, seconds: 0.5, checkpoints: [] }),
      work({ id: 2, iterations: 40, seconds: 0.5, whole: true }),
    ];
    expect(splitIntoTasks(works, 4).map((t) => [t.runId, rangesOf(t)])).toEqual([
      [1, [[0, 40]]],
      [2, []],
    ]);
  });

  it("re-runs a run from scratch when that is clearly cheaper than replaying it from checkpoints, and says so", () => {
    const plan = (w: RunWork): RunPlan => ({
      runId: 1,
      tstamp: "",
      filename: "train.mjs",
      vid: null,
      outcome: "replay",
      mode: "checkpoints",
      names: [],
      ranges: w.ranges,
      iterations: 1,
      notes: [],
      estimatedSeconds: 0,
      fullSeconds: (w.run.seconds ?? 0) + CHILD_START_SECONDS,
    });
    // Loading a 4 GB checkpoint (10 s) to skip 9 epochs of 0.1 s: re-running is cheaper.
    const heavy = work({ iterations: 10, seconds: 0.1, ranges: [[9, 10]] });
    for (const checkpoint of heavy.run.checkpoints.values()) checkpoint.bytes = 4e9;
    const heavyPlan = plan(heavy);
    const chosen = cheaper(heavy, heavyPlan);
    expect(chosen.top).toBeNull();
    expect(heavyPlan.mode).toBe("whole-script");
    expect(heavyPlan.notes.join()).toMatch(
      new RegExp(
        `re-running the whole script \\(estimated ${(1.87 + TASK_BOOKKEEPING_SECONDS).toFixed(2)} s\\) is cheaper than replaying from checkpoints \\(1[0-9]\\.\\d+ s\\)`,
      ),
    );
    // The script's recorded time and start, and storing what it logs.
    expect(chunkTasks(chosen, Infinity)[0]!.estimatedSeconds).toBeCloseTo(heavyPlan.fullSeconds + TASK_BOOKKEEPING_SECONDS, 6);
    // The same with a 40 MB checkpoint: replaying the last epoch is cheaper.
    const light = work({ iterations: 10, seconds: 0.1, ranges: [[9, 10]] });
    const lightPlan = plan(light);
    expect(cheaper(light, lightPlan)).toBe(light);
    expect(lightPlan.notes).toEqual([]);
  });
});
