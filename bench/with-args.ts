import type { Tracker } from "../examples/iris/training.js";

/** A tracker that answers `arg` from `args` (as --kwargs would) and delegates the rest. */
export function withArgs(base: Tracker, args: Record<string, string | number | boolean>): Tracker {
  return {
    arg: <T extends string | number | boolean>(name: string, defaultValue: T): T => (name in args ? (args[name] as T) : defaultValue),
    loop: base.loop.bind(base) as Tracker["loop"],
    log: base.log.bind(base),
    checkpointing: base.checkpointing.bind(base),
  };
}
