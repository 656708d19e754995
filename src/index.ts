// The SDK entry point: what a training script imports. It loads no database code, so that starting a
// script (and every replay child) stays fast; the store is `flordb/store`.
export { flor, Flor, type CheckpointOptions, type FlorOptions, type RunInfo } from "./sdk/index.js";
export { FlorError, FlorUsageError } from "./errors.js";
export { layoutFor, findRepositoryRoot, type ProjectLayout } from "./project-layout.js";
export type { JsonValue, JournalRecord, RunStatus } from "./journal/records.js";
export { ObjectStore } from "./checkpoints/object-store.js";
export { captureState, restoreState, type Stateful } from "./checkpoints/object-state.js";
export { snapshotWorkingTree, type Snapshot } from "./versions/snapshot.js";
