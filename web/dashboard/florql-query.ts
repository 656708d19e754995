// Asking FlorQL through the API, and filling what past versions never logged: the answer, then (on the
// user's word) a replay job followed live, the answer asked again as its tasks finish.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type Following, followJob, gql, JOB_FIELDS, type JobEvent, type JobState } from "./api.js";

export interface FlorqlAnswer {
  __typename: "FlorqlAnswer";
  columns: string[];
  rows: Record<string, unknown>[];
  complete: boolean;
  explain: string;
  replayPlan: { names: string[]; runs: number; tasks: number; estimatedSeconds: number } | null;
  unfillable: { name: string; runs: number; reasons: string[] }[];
  unverified: { name: string; rows: number }[];
  job: JobState | null;
}

export interface FlorqlError {
  __typename: "FlorqlError";
  code: string;
  message: string;
  line: number | null;
  column: number | null;
  offset: number | null;
  length: number | null;
  hint: string | null;
}

const FLORQL = `query($query: String!, $replay: ReplayMode!) { florql(query: $query, replay: $replay) {
  __typename
  ... on FlorqlAnswer { columns rows complete explain
    replayPlan { names runs tasks estimatedSeconds } unfillable { name runs reasons } unverified { name rows }
    job { ${JOB_FIELDS} } }
  ... on FlorqlError { code message line column offset length hint }
} }`;

export async function askFlorql(query: string, replay: "NONE" | "ASYNC"): Promise<FlorqlAnswer | FlorqlError> {
  const answer = await gql<{ florql: FlorqlAnswer | FlorqlError | null }>(FLORQL, { query, replay });
  if (answer.florql === null) throw new ApiError("the server gave no answer", null);
  return answer.florql;
}

export interface Fill {
  job: JobState;
  /** The last event's kind, and whether the stream is reconnecting. */
  last: string;
  reconnecting: string | null;
  failure: string | null;
  events: number;
}

export interface QueryState {
  text: string | null;
  running: boolean;
  answer: FlorqlAnswer | null;
  error: FlorqlError | null;
  failure: string | null;
  /** How long the last answer took, request and all. */
  ms: number | null;
  fill: Fill | null;
  /** A replay needs the token and the server refused the one given (or none was). */
  needsToken: boolean;
}

const IDLE: QueryState = { text: null, running: false, answer: null, error: null, failure: null, ms: null, fill: null, needsToken: false };

/** A FlorQL query's state, and what can be done: run a text, fill the answer's missing values by replay. */
export function useFlorql(onFilled?: () => void): { state: QueryState; run(text: string): void; fill(): void; forget(): void } {
  const [state, setState] = useState<QueryState>(IDLE);
  const current = useRef<QueryState>(IDLE);
  current.current = state;
  const following = useRef<Following | null>(null);
  const refreshTimer = useRef<number | null>(null);
  // Answers can arrive out of order (a slow one asked mid-job after a quick one asked at its end): only the latest asked is shown.
  const asked = useRef(0);
  useEffect(
    () => () => {
      following.current?.stop();
      if (refreshTimer.current !== null) clearTimeout(refreshTimer.current);
    },
    [],
  );

  const update = (patch: Partial<QueryState>) => setState((s) => ({ ...s, ...patch }));

  const answer = async (text: string, keepFill: boolean) => {
    const started = performance.now();
    const ticket = ++asked.current;
    update({ text, running: true, failure: null, ...(keepFill ? {} : { fill: null, needsToken: false }) });
    try {
      const result = await askFlorql(text, "NONE");
      if (ticket !== asked.current) return;
      const ms = performance.now() - started;
      if (result.__typename === "FlorqlError") update({ running: false, error: result, answer: null, ms });
      else update({ running: false, error: null, answer: result, ms });
    } catch (e) {
      if (ticket === asked.current) update({ running: false, failure: (e as Error).message });
    }
  };

  /** Asks again when tasks finish, at most every half second: the curves fill in as the job goes. */
  const refreshSoon = () => {
    if (refreshTimer.current !== null) return;
    refreshTimer.current = window.setTimeout(() => {
      refreshTimer.current = null;
      const text = current.current.text;
      if (text !== null) void answer(text, true);
    }, 500);
  };

  const follow = (job: JobState) => {
    following.current?.stop();
    update({ fill: { job, last: "requested", reconnecting: null, failure: null, events: 0 } });
    following.current = followJob(job.id, {
      event(event: JobEvent) {
        setState((s) => ({
          ...s,
          fill: { job: event.job, last: event.kind, reconnecting: null, failure: null, events: (s.fill?.events ?? 0) + 1 },
        }));
        if (event.kind === "task-done" || event.kind === "done" || event.kind === "failed" || event.kind === "cancelled") refreshSoon();
        if (event.kind === "done") onFilled?.();
      },
      reconnecting(attempt, reason) {
        setState((s) =>
          s.fill === null ? s : { ...s, fill: { ...s.fill, reconnecting: `reconnecting (attempt ${attempt}): ${reason}` } },
        );
      },
      failed(reason) {
        setState((s) => (s.fill === null ? s : { ...s, fill: { ...s.fill, failure: reason, reconnecting: null } }));
      },
    });
  };

  return {
    state,
    /** Puts the last answer and error away (another question is on screen). */
    forget() {
      following.current?.stop();
      following.current = null;
      asked.current++;
      setState(IDLE);
    },
    run(text) {
      following.current?.stop();
      following.current = null;
      void answer(text, false);
    },
    fill() {
      const text = current.current.text;
      if (text === null) return;
      update({ needsToken: false, failure: null });
      askFlorql(text, "ASYNC")
        .then((result) => {
          if (result.__typename === "FlorqlError") update({ error: result });
          else if (result.job !== null) follow(result.job);
          else void answer(text, false);
        })
        .catch((e: Error) => {
          if (e instanceof ApiError && e.code === "UNAUTHENTICATED") update({ needsToken: true, failure: e.message });
          else update({ failure: e.message });
        });
    },
  };
}
