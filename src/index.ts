export { flor, Flor, type CheckpointOptions, type FlorOptions, type RunInfo } from "./sdk/index.js";
export { FlorError, FlorUsageError } from "./errors.js";
export { layoutFor, findRepositoryRoot, type ProjectLayout } from "./project-layout.js";
export type { JsonValue, JournalRecord, RunStatus } from "./journal/records.js";
export { ObjectStore } from "./checkpoints/object-store.js";
export { captureState, restoreState, type Stateful } from "./checkpoints/object-state.js";
export { snapshotWorkingTree, type Snapshot } from "./versions/snapshot.js";
export { openStore, type Store, type StoreKind, type StoreOptions } from "./store/open-store.js";
export { ingest, type IngestReport } from "./store/ingest.js";
