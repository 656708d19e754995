/**
 * How the SDK and a warm task host (src/replay/task-host.ts) in the same process find each other: the
 * host puts this object on globalThis under a registered symbol, so that whichever copy of flordb the
 * script loads finds it. In a host, a task's end is not the process's exit: the SDK hands the host its
 * exit-time work instead of listening for `exit`.
 */
export interface TaskHostHook {
  /**
   * An SDK instance's first call in the host: `end(code)` is what the process's exit would do to its run
   * (finish the journal, by the exit code), and then forgets the run's state for the next task.
   */
  attach(end: (code: number) => void): void;
  /** Throws when the running task has ended (the script goes on after its replay ended): no run may start then. */
  checkOpen(): void;
}

const KEY = Symbol.for("flordb.task-host");

/** The host running this process's tasks, or undefined in a process of its own. */
export function taskHost(): TaskHostHook | undefined {
  return (globalThis as Record<symbol, TaskHostHook | undefined>)[KEY];
}

export function installTaskHost(hook: TaskHostHook): void {
  (globalThis as Record<symbol, TaskHostHook | undefined>)[KEY] = hook;
}
