import type { RunSummary } from "../store/queries/runs.js";
import type { CodeVersion } from "../versions/versions.js";
import type {
  CancelOutcome,
  FlorApi,
  Printed,
  PrintSpec,
  QueryAnswer,
  QueryHooks,
  ReplayAsk,
  ReplayHooks,
  ReplayMode,
  ReplayOutcome,
} from "./flor-api.js";
import { printRows } from "./print-rows.js";
import type { ProjectSession } from "./project-session.js";

/** FlorApi in this process: the project's session, whose store this process holds. */
export class LocalApi implements FlorApi {
  constructor(readonly session: ProjectSession) {}

  runs(): Promise<RunSummary[]> {
    return this.session.runs();
  }

  versions(): Promise<CodeVersion[]> {
    return this.session.versions();
  }

  explain(text: string): Promise<string> {
    return this.session.explain(text);
  }

  answerQuery(text: string, mode: ReplayMode, hooks?: QueryHooks): Promise<QueryAnswer> {
    return this.session.answerQuery(text, mode, hooks);
  }

  async printQuery(text: string, mode: ReplayMode, print: PrintSpec, hooks?: QueryHooks): Promise<Printed<QueryAnswer>> {
    return printRows(await this.session.answerQuery(text, mode, hooks), print);
  }

  replay(ask: ReplayAsk, hooks?: ReplayHooks): Promise<ReplayOutcome> {
    return this.session.replay(ask, hooks);
  }

  cancelReplay(jobId: number): Promise<CancelOutcome> {
    return this.session.cancelReplay(jobId);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
