import { chmodSync, rmSync, statSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import type { PlanSummary, PrintSpec, ReplayAsk, ReplayMode } from "../app/flor-api.js";
import { printRows } from "../app/print-rows.js";
import { ProjectSession } from "../app/project-session.js";
import { FlorError } from "../errors.js";
import type { ProjectLayout } from "../project-layout.js";
import type { PlannedTask } from "../replay/replay-plan.js";
import { buildId } from "./daemon-paths.js";
import { packRows } from "./packed-rows.js";
import { encodeError, encodeFrame, FrameReader, type DaemonMessage, type DaemonRequest } from "./daemon-protocol.js";
import type { StoreIngests } from "./store-ingests.js";

/** Who hosts the socket: the daemon, or `flor serve` (which cannot be stopped or replaced from a command). */
export type DaemonHost = "daemon" | "serve";

export interface DaemonServerOptions {
  /** The host's session (its workers are the default for requests that name none). */
  session: ProjectSession;
  layout: ProjectLayout;
  ingests: StoreIngests;
  host: DaemonHost;
  socketPath: string;
  /** A client of another build asked: the daemon's host shuts down (for a daemon of that build). */
  onStop?: () => void;
  /** After how long without requests or replays the host exits, for status; null when it does not. */
  idleExitSeconds?: number | null;
}

/** What `flor daemon status` reports. */
export interface DaemonStatus {
  host: DaemonHost;
  pid: number;
  root: string;
  socket: string;
  started: string;
  /** Requests being answered now, this one included. */
  requests: number;
  served: number;
  rssBytes: number;
  heapBytes: number;
  idleExitSeconds: number | null;
}

type Emit = (name: string, data: unknown) => void;
type Method = (params: unknown[], emit: Emit) => Promise<unknown>;

/**
 * Characters of text per `text` frame. Small, because the command's memory is its frames waiting for a
 * collection, which the few objects it makes per frame trigger: a million rows printed peak at 65-67 MB
 * with 4 KiB frames, 64-77 MB with 16 KiB.
 */
const TEXT_FRAME_CHARS = 4 * 1024;

/** A method's answer whose rows are printed: the answer first, then the text. */
class Printing {
  constructor(
    readonly value: unknown,
    readonly text: Iterable<string>,
  ) {}
}

/** An answer printed as the command asked, its text sent after it. */
function printing<T extends { columns: string[]; rows: readonly object[] }>(answer: T, print: unknown): Printing {
  const { text, ...value } = printRows(answer, print as PrintSpec);
  return new Printing(value, text);
}

/**
 * FlorDB's services for CLI commands over a private Unix socket (mode 0600), from the process holding
 * the embedded store: the daemon, or `flor serve`. Requests run concurrently, each after the journals
 * written since the last one are ingested (their problems reported to that command), with progress sent
 * as events, so a command prints what it would print holding the store itself.
 */
export class DaemonServer {
  private readonly build = buildId();
  private readonly started = new Date().toISOString();
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Map<number, Promise<ProjectSession>>();
  private active = 0;
  private served = 0;
  private lastActivity = performance.now();
  private inode = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: DaemonServerOptions,
  ) {
    this.sessions.set(options.session.workers, Promise.resolve(options.session));
  }

  /** Listens on `options.socketPath`, replacing a socket a dead holder left there (the store's lock makes this process its owner). */
  static async listen(options: DaemonServerOptions): Promise<DaemonServer> {
    rmSync(options.socketPath, { force: true });
    const server = createServer();
    const daemon = new DaemonServer(server, options);
    server.on("connection", (socket) => daemon.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // The socket is created 0600: no moment when another user could connect.
      const umask = process.umask(0o177);
      try {
        server.listen(options.socketPath, () => {
          server.off("error", reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    chmodSync(options.socketPath, 0o600);
    daemon.inode = statSync(options.socketPath).ino;
    return daemon;
  }

  /** Milliseconds since the last request ended; 0 while one runs. */
  idleMs(): number {
    return this.active > 0 ? 0 : performance.now() - this.lastActivity;
  }

  /** Whether the socket file is still this server's (a removed project, or a removed socket, ends the daemon). */
  ownsSocket(): boolean {
    return statSync(this.options.socketPath, { throwIfNoEntry: false })?.ino === this.inode;
  }

  /**
   * Stops accepting, stops the replays the extra sessions run (their tasks go back to the queue), and
   * gives requests in flight `drainSeconds` to end before their connections are cut.
   */
  async close(drainSeconds: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.ownsSocket()) rmSync(this.options.socketPath, { force: true });
    for (const [workers, session] of this.sessions)
      if (workers !== this.options.session.workers) await (await session.catch(() => null))?.close();
    const grace = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, drainSeconds * 1000);
    await closed;
    clearTimeout(grace);
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const reader = new FrameReader();
    let started = false;
    socket.on("error", () => undefined);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("data", (chunk: Buffer) => {
      if (started) return;
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (messages.length === 0) return;
      started = true;
      void this.answer(socket, messages[0] as DaemonRequest);
    });
  }

  private async answer(socket: Socket, request: DaemonRequest): Promise<void> {
    const send = (message: DaemonMessage): void => {
      if (!socket.destroyed && socket.writable) socket.write(encodeFrame(message));
    };
    if (request.build !== this.build) {
      if (this.options.host === "daemon") {
        // An upgrade or a rebuild: step down for a daemon of the client's build.
        send({ kind: "stale", pid: process.pid });
        socket.end();
        this.options.onStop?.();
        return;
      }
      send({
        kind: "error",
        error: encodeError(
          new FlorError(`\`flor serve\` (pid ${process.pid}) runs another build of FlorDB than this command`, {
            hint: "Restart `flor serve`, or set FLOR_NO_DAEMON=1 to reach it over GraphQL.",
          }),
        ),
      });
      socket.end();
      return;
    }
    this.active++;
    try {
      if (request.root !== this.options.layout.root)
        throw new FlorError(
          `the store in ${this.options.layout.florDir} is held for the repository ${this.options.layout.root}, not ${request.root}`,
          { hint: "Give each repository its own FLOR_DIR." },
        );
      const method = this.methods[request.method];
      if (method === undefined) throw new Error(`the flor daemon has no method ${request.method}`);
      const value = await method(request.params, (name, data) => send({ kind: "event", name, data }));
      if (value instanceof Printing) {
        send({ kind: "printing", value: value.value });
        await this.sendText(socket, value.text);
        send({ kind: "end" });
      } else send({ kind: "result", value });
    } catch (error) {
      send({ kind: "error", error: encodeError(error) });
    } finally {
      this.active--;
      this.served++;
      this.lastActivity = performance.now();
      socket.end();
    }
  }

  /**
   * The text in frames of about TEXT_FRAME_CHARS, made as the command reads them: the socket's buffer is
   * let drain before more is made, so neither side holds a large answer's text. Stops when the command goes.
   */
  private async sendText(socket: Socket, text: Iterable<string>): Promise<void> {
    const gone = new Promise<void>((resolve) => socket.once("close", resolve));
    let frame = "";
    const flush = async (): Promise<boolean> => {
      if (socket.destroyed || !socket.writable) return false;
      const drained = socket.write(encodeFrame({ kind: "text", piece: Buffer.from(frame) }));
      frame = "";
      if (!drained) await Promise.race([once(socket, "drain"), gone]);
      return !socket.destroyed;
    };
    for (const piece of text) {
      frame += piece;
      if (frame.length >= TEXT_FRAME_CHARS && !(await flush())) return;
    }
    if (frame !== "") await flush();
  }

  /** The session planning and replaying with `workers` workers (commands say how many with --workers). */
  private session(workers: unknown): Promise<ProjectSession> {
    const count = typeof workers === "number" && Number.isInteger(workers) && workers >= 0 ? workers : this.options.session.workers;
    let session = this.sessions.get(count);
    if (session === undefined) {
      session = ProjectSession.over(this.options.session.store, this.options.layout, { workers: count, lifetime: "server" });
      this.sessions.set(count, session);
    }
    return session;
  }

  /** Before a command reads the store: what the journals gained since, as every command would ingest it itself. */
  private async fresh(emit: Emit, workers?: unknown): Promise<ProjectSession> {
    await this.options.ingests.refresh((problem) => emit("warning", problem));
    return this.session(workers);
  }

  private readonly methods: Record<string, Method> = {
    status: async (): Promise<DaemonStatus> => {
      const memory = process.memoryUsage();
      return {
        host: this.options.host,
        pid: process.pid,
        root: this.options.layout.root,
        socket: this.options.socketPath,
        started: this.started,
        requests: this.active,
        served: this.served,
        rssBytes: memory.rss,
        heapBytes: memory.heapUsed,
        idleExitSeconds: this.options.idleExitSeconds ?? null,
      };
    },
    runs: async (_params, emit) => (await this.fresh(emit)).runs(),
    versions: async (_params, emit) => (await this.fresh(emit)).versions(),
    explain: async ([text, workers], emit) => (await this.fresh(emit, workers)).explain(text as string),
    answerQuery: async ([text, mode, workers, print], emit) => {
      const session = await this.fresh(emit, workers);
      const answer = await session.answerQuery(text as string, mode as ReplayMode, {
        onFilling: (missing) => emit("filling", missing),
        onProgress: (job) => emit("progress", job),
      });
      // A job the daemon runs runs in the background, as far as the command can tell.
      const started = answer.notes.started;
      if (started?.runner === "server" && this.options.host === "daemon") answer.notes.started = { ...started, runner: "background" };
      return print === undefined ? { ...answer, rows: packRows(answer.columns, answer.rows) } : printing(answer, print);
    },
    replay: async ([ask, workers], emit) => {
      const session = await this.fresh(emit, workers);
      return session.replay(ask as ReplayAsk, {
        onRequested: (jobId, plan) => emit("requested", { jobId, plan: plan === null ? null : summary(plan) }),
        onProgress: (job) => emit("progress", job),
      });
    },
    cancelReplay: async ([jobId], emit) => (await this.fresh(emit)).cancelReplay(jobId as number),
    printDataframe: async ([names, print], emit) => printing(await (await this.fresh(emit)).dataframe(names as string[]), print),
    // The command's ingest is the report: nothing is ingested before it.
    ingest: async ([rebuild]) => this.options.ingests.ingest(rebuild === true),
    planReplay: async ([ask, workers], emit) => {
      const { plan } = await (await this.fresh(emit, workers)).planReplay(ask as ReplayAsk);
      return { plan };
    },
    runJob: async ([jobId, workers], emit) =>
      (await this.fresh(emit, workers)).runJob(jobId as number, false, (job) => emit("progress", job)),
    jobReport: async ([jobId], emit) => (await this.fresh(emit)).jobReport(jobId as number),
  };
}

/** A plan for people (what `flor replay` prints before it runs): its tasks without their patched sources. */
function summary(plan: PlanSummary): PlanSummary {
  return {
    ...plan,
    tasks: (plan.tasks as PlannedTask[]).map(({ runId, estimatedSeconds, iterations }) => ({ runId, estimatedSeconds, iterations })),
  };
}
