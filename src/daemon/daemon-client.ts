import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { Readable } from "node:stream";
import { hostname } from "node:os";
import path from "node:path";
import { FlorError } from "../errors.js";
import type { ProjectLayout } from "../project-layout.js";
import { liveHolder } from "../store/pglite-lock.js";
import { buildId, DAEMON_COMMAND, daemonLogPath, daemonSocketPath, FLOR_BIN, idleSeconds } from "./daemon-paths.js";
import { decodeError, encodeFrame, FrameReader, type DaemonMessage, type EncodedError } from "./daemon-protocol.js";

/** How long a command waits for a daemon to start (PGlite's first start on a loaded machine takes seconds). */
const START_SECONDS = 120;
/** How often a waiting command looks for the socket. */
const POLL_MS = 20;
const MAX_LOG_BYTES = 1024 * 1024;

/** Text pieces a client holds before it stops reading the socket until the command has printed some. */
const TEXT_PIECES_AHEAD = 4;

const READ_BUFFER_BYTES = 64 * 1024;

/** What a request ends with: an answer, an answer whose printed text follows, or an error. */
type Outcome =
  | { kind: "result"; value: unknown }
  | { kind: "printing"; value: unknown; text: Readable }
  | { kind: "error"; error: EncodedError }
  | { kind: "stale"; pid: number }
  /** No daemon listened: nothing was asked. */
  | { kind: "absent" };

/** What a starting daemon tells the command that started it, over the IPC channel. */
export type StartMessage = { ready: true } | { error: EncodedError };

/**
 * The command's side of the daemon's socket: finds the daemon holding the project's embedded store, or
 * starts one, and asks it. Only light modules here (no PGlite, parser or GraphQL), so a command through
 * the daemon starts in a tenth of a second.
 */
export class DaemonClient {
  private readonly build = buildId();

  private constructor(
    readonly layout: ProjectLayout,
    readonly socketPath: string,
  ) {}

  /**
   * A client of the daemon (or `flor serve`) that listens for this project, started when nothing holds
   * the store; null when another process holds it (a command with FLOR_NO_DAEMON=1, a `flor serve` still
   * starting, a background replay): the caller opens the store itself, which says who has it.
   */
  static async connect(layout: ProjectLayout): Promise<DaemonClient | null> {
    const client = new DaemonClient(layout, daemonSocketPath(layout));
    return (await client.ensure()) ? client : null;
  }

  /** A client of the daemon (or `flor serve`) listening for this project, if one does; nothing is started. */
  static async find(layout: ProjectLayout): Promise<DaemonClient | null> {
    const client = new DaemonClient(layout, daemonSocketPath(layout));
    return (await listening(client.socketPath)) ? client : null;
  }

  /**
   * Asks the daemon: `onEvent` hears what it reports along the way (progress, warnings), and the answer
   * or the error is the method's. A daemon that went away in between (killed, idle exit, another
   * build) is replaced, and the question asked again.
   */
  async request<T>(method: string, params: unknown[], onEvent: (name: string, data: unknown) => void = () => undefined): Promise<T> {
    const outcome = await this.ask(method, params, onEvent);
    if (outcome.kind === "printing") throw new Error(`the flor daemon printed the answer to ${method}, which was not asked to print`);
    return outcome.value as T;
  }

  /**
   * Asks for an answer that the daemon prints: the answer, and its text as the daemon sends it, read once.
   * The daemon makes the text only as fast as it is read, so the command never holds much of it.
   */
  async print<T>(
    method: string,
    params: unknown[],
    onEvent: (name: string, data: unknown) => void = () => undefined,
  ): Promise<{ value: T; text: AsyncIterable<Uint8Array> }> {
    const outcome = await this.ask(method, params, onEvent);
    if (outcome.kind !== "printing") throw new Error(`the flor daemon did not print the answer to ${method}`);
    return { value: outcome.value as T, text: outcome.text };
  }

  private async ask(
    method: string,
    params: unknown[],
    onEvent: (name: string, data: unknown) => void,
  ): Promise<Extract<Outcome, { kind: "result" | "printing" }>> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.exchange(method, params, onEvent);
      if (outcome.kind === "result" || outcome.kind === "printing") return outcome;
      if (outcome.kind === "error") throw decodeError(outcome.error);
      if (attempt >= 3) throw new FlorError("the flor daemon keeps going away; try again, or set FLOR_NO_DAEMON=1");
      if (outcome.kind === "stale") await waitForExit(outcome.pid);
      if (!(await this.ensure()))
        throw new FlorError(`the embedded store ${this.layout.databaseDir} was taken by another process while this command waited`, {
          hint: "Run the command again.",
        });
    }
  }

  /**
   * One request on its own connection; `absent` when no daemon listened (nothing was asked). An answer
   * being printed keeps the connection until its text has been read: the socket is paused while the
   * command has TEXT_PIECES_AHEAD pieces it has not printed, so the daemon waits for it.
   */
  private exchange(method: string, params: unknown[], onEvent: (name: string, data: unknown) => void): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const reader = new FrameReader();
      // Every read lands in one buffer (the reader copies frames out of it): a buffer per read would be
      // garbage that, with little else allocated, waits long for a collection (a million rows: +30 MB).
      const socket = createConnection({
        path: this.socketPath,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
          callback: (bytes: number, buffer: Uint8Array) => {
            for (const message of reader.push(buffer.subarray(0, bytes)) as DaemonMessage[]) receive(message);
            return true;
          },
        },
      });
      let connected = false;
      let settled = false;
      let text: Readable | null = null;
      let ended = false;
      const settle = (outcome: Outcome | Error): void => {
        if (settled) return;
        settled = true;
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
        if (text === null) socket.destroy();
      };
      const lost = (what: string): FlorError =>
        new FlorError(`${what} (the flor daemon of ${this.layout.root})`, {
          hint: "Run the command again (a new daemon starts); see .flor/daemon.log if it keeps happening.",
        });
      const receive = (message: DaemonMessage): void => {
        if (text !== null) {
          if (message.kind === "text") {
            if (!text.push(message.piece)) socket.pause();
          } else if (message.kind === "end") {
            ended = true;
            text.push(null);
            socket.destroy();
          } else if (message.kind === "error") text.destroy(decodeError(message.error));
        } else if (message.kind === "event") onEvent(message.name, message.data);
        else if (message.kind === "printing") {
          text = new Readable({ objectMode: true, highWaterMark: TEXT_PIECES_AHEAD, read: () => socket.resume() });
          // A command that stops reading (an error while printing) lets the daemon go.
          text.once("close", () => socket.destroy());
          // A failure is the reader's to hear, from its iteration (the stream keeps it), even when it comes before the reader does.
          text.on("error", () => undefined);
          settle({ kind: "printing", value: message.value, text });
        } else if (message.kind === "result" || message.kind === "error" || message.kind === "stale") settle(message);
      };
      socket.on("connect", () => {
        connected = true;
        socket.write(encodeFrame({ build: this.build, root: this.layout.root, method, params }));
      });
      socket.on("error", (error: NodeJS.ErrnoException) => {
        if (!connected) settle({ kind: "absent" });
        else settle(new FlorError(`lost the connection to the flor daemon: ${error.message}`, { hint: "Run the command again." }));
      });
      socket.on("close", () => {
        if (text !== null) {
          if (!ended) text.destroy(lost("the answer's text was cut off"));
        } else settle(connected ? lost("the daemon stopped before it answered") : { kind: "absent" });
      });
    });
  }

  /** Whether a daemon listens, once this returns true: it is found, waited for while it starts, or started. */
  private async ensure(): Promise<boolean> {
    const deadline = performance.now() + START_SECONDS * 1000;
    let starting: StartingDaemon | null = null;
    try {
      for (;;) {
        if (await listening(this.socketPath)) return true;
        const holder = liveHolder(this.layout.databaseLock);
        if (holder === null) {
          // Nothing holds the store: start a daemon, unless another command is starting one.
          if (starting === null) starting = StartingDaemon.spawn(this.layout);
          else if (starting.failed !== null) throw starting.failed;
        } else if (holder.command !== DAEMON_COMMAND || holder.host !== hostname()) {
          return false;
        } else if (starting?.failed != null && starting.pid === holder.pid) {
          throw starting.failed;
        }
        // Else a daemon holds it and is starting (ours, or another command's that won the race): wait for it.
        if (performance.now() > deadline)
          throw new FlorError(`the flor daemon (pid ${holder?.pid ?? starting?.pid}) did not start listening in ${START_SECONDS} s`, {
            hint: `See ${daemonLogPath(this.layout)}; \`flor daemon stop\` stops it, FLOR_NO_DAEMON=1 does without it.`,
          });
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      starting?.release();
    }
  }
}

/** Whether something accepts connections on `socketPath` (a socket left by a killed daemon does not). */
function listening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = createConnection(socketPath);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Waits for a process to end (a daemon stepping down), at most a minute. */
export async function waitForExit(pid: number): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A daemon this command started: detached (it outlives the command), its output in .flor/daemon.log. */
class StartingDaemon {
  /** Why it could not start, once it said so or died. */
  failed: Error | null = null;

  private constructor(
    private readonly child: ChildProcess,
    private readonly log: string,
    private readonly claim: string,
  ) {
    child.on("message", (message: StartMessage) => {
      if ("error" in message) this.failed = decodeError(message.error);
    });
    child.on("exit", (code, signal) => {
      this.failed ??= new FlorError(`the flor daemon could not start (${signal ?? `exit code ${code}`})`, {
        hint: `See ${this.log}${tail(this.log)}`,
      });
    });
    child.on("error", (error) => {
      this.failed ??= new FlorError(`cannot start the flor daemon: ${error.message}`);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts a daemon; null when another command is starting one (commands starting at once start one). */
  static spawn(layout: ProjectLayout): StartingDaemon | null {
    // Checked here, so a bad setting is the command's usage error rather than a daemon that dies.
    idleSeconds();
    mkdirSync(layout.florDir, { recursive: true });
    const claim = claimStart(layout);
    if (claim === null) return null;
    const log = daemonLogPath(layout);
    // Each daemon appends a few lines; the log starts again once it is long.
    const fd = openSync(log, (statSync(log, { throwIfNoEntry: false })?.size ?? 0) > MAX_LOG_BYTES ? "w" : "a", 0o600);
    try {
      const child = spawn(process.execPath, [FLOR_BIN, "daemon", "run"], {
        cwd: layout.root,
        detached: true,
        stdio: ["ignore", fd, fd, "ipc"],
        // The daemon finds the same .flor whatever directory it runs in.
        env: { ...process.env, ...(process.env["FLOR_DIR"] ? { FLOR_DIR: layout.florDir } : {}) },
      });
      return new StartingDaemon(child, log, claim);
    } catch (error) {
      rmSync(claim, { force: true });
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  /** Lets the command exit without the daemon, and other commands start one should this one have failed. */
  release(): void {
    rmSync(this.claim, { force: true });
    if (this.child.connected) this.child.disconnect();
    this.child.unref();
  }
}

/**
 * Claims the start of the project's daemon (`<florDir>/daemon.starting`, created exclusively), so that
 * commands finding no daemon at the same moment start one, not one each; null when another live
 * command holds the claim. A claim whose command died is taken over.
 */
function claimStart(layout: ProjectLayout): string | null {
  const file = path.join(layout.florDir, "daemon.starting");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx", mode: 0o600 });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let pid: number;
    let age: number;
    try {
      pid = Number(readFileSync(file, "utf8"));
      age = Date.now() - statSync(file).mtimeMs;
    } catch {
      continue; // released meanwhile: claim it
    }
    let alive = Number.isInteger(pid) && pid > 0;
    try {
      if (alive) process.kill(pid, 0);
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === "EPERM";
    }
    if (alive && age < START_SECONDS * 1000) return null;
    rmSync(file, { force: true });
  }
  return null;
}

/** The last lines of the daemon's log, for an error message. */
function tail(log: string): string {
  try {
    const lines = readFileSync(log, "utf8").trimEnd().split("\n").slice(-5);
    return lines.length === 0 || lines[0] === "" ? "" : `:\n  ${lines.join("\n  ")}`;
  } catch {
    return "";
  }
}
