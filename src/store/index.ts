// `flordb/store`: the relational store, ingestion and replay services, for tools built on FlorDB.
export { openStore, type Store, type StoreKind, type StoreOptions } from "./open-store.js";
export { ingest, type IngestReport } from "./ingest.js";
export {
  planReplay,
  type ReplayPlan,
  type ReplayRequest,
  type RunPlan,
  type ScopePredicate,
  type FactLookup,
} from "../replay/replay-plan.js";
export { requestReplay, runJobLocally, waitForJob, defaultWorkers } from "../replay/replay-service.js";
export { getJob, listEvents, cancelJob, type ReplayJob, type ReplayEvent } from "../replay/replay-jobs.js";
