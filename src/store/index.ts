// `flordb/store`: the relational store, ingestion, and a project's session with FlorDB's services
// (queries, replay planning and jobs), for tools built on FlorDB.
export { openStore, type Store, type StoreKind, type StoreOptions } from "./open-store.js";
export { ingest, type IngestReport } from "./ingest.js";
export { ProjectSession, type OpenOptions, type SessionOptions } from "../app/project-session.js";
export type {
  FlorApi,
  QueryAnswer,
  QueryNotes,
  ReplayAsk,
  ReplayMode,
  ReplayOutcome,
} from "../app/flor-api.js";
export type { ReplayPlan, ReplayRequest, RunPlan, ScopePredicate, FactLookup } from "../replay/replay-plan.js";
export type { ReplayJob } from "./queries/replay-jobs.js";
export type { ReplayEvent } from "./queries/replay-events.js";
