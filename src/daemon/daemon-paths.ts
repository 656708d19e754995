import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FlorError, FlorUsageError } from "../errors.js";
import type { ProjectLayout } from "../project-layout.js";

/** The command name the daemon holds the embedded store under (in its lock), so others know it can be asked to go. */
export const DAEMON_COMMAND = "flor daemon";

/** Default idle time before the daemon exits: long enough for a working session, short enough not to hold memory for long. */
const DEFAULT_IDLE_SECONDS = 600;

/** Unix socket paths are limited to 108 bytes (104 on macOS), the terminating NUL included. */
const MAX_SOCKET_PATH = 100;

/** The package's root: the daemon is spawned from its `bin/flor.js`, and its build is what must match. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const FLOR_BIN = path.join(PACKAGE_ROOT, "bin/flor.js");

/**
 * The private socket of the daemon (or `flor serve`) holding a project's embedded store:
 * `<florDir>/daemon.sock`, or, when that path is too long for a socket, a name derived from it in a
 * directory only this user can enter.
 */
export function daemonSocketPath(layout: Pick<ProjectLayout, "florDir">): string {
  const inside = path.join(layout.florDir, "daemon.sock");
  if (Buffer.byteLength(inside) <= MAX_SOCKET_PATH) return inside;
  const dir = path.join(tmpdir(), `flor-${process.getuid?.() ?? "user"}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || (process.getuid !== undefined && stat.uid !== process.getuid()) || (stat.mode & 0o077) !== 0)
    throw new FlorError(`${dir} must be a directory that only this user can enter, for the flor daemon's socket`, {
      hint: `Remove it (it is made again), or set FLOR_NO_DAEMON=1.`,
    });
  const name = createHash("sha256").update(layout.florDir).digest("hex").slice(0, 24);
  return path.join(dir, `${name}.sock`);
}

/** Where a daemon writes what it has to say (it has no terminal): startup failures, crashes. */
export function daemonLogPath(layout: Pick<ProjectLayout, "florDir">): string {
  return path.join(layout.florDir, "daemon.log");
}

/**
 * Which build of FlorDB a process runs: a daemon answers only clients of its own build, so an upgrade or
 * a rebuild replaces a daemon still running the old code.
 */
export function buildId(): string {
  const main = statSync(path.join(PACKAGE_ROOT, "dist/cli/main.js"), { throwIfNoEntry: false });
  return `${PACKAGE_ROOT}@${main?.mtimeMs ?? "unbuilt"}`;
}

/** Whether commands use the daemon: FLOR_NO_DAEMON=1 (or any value but empty and 0) opens the store in each command. */
export function daemonDisabled(): boolean {
  const value = process.env["FLOR_NO_DAEMON"];
  return value !== undefined && value !== "" && value !== "0";
}

/** How long the daemon waits without commands or replays before it exits (FLOR_DAEMON_IDLE_SECONDS). */
export function idleSeconds(): number {
  const raw = process.env["FLOR_DAEMON_IDLE_SECONDS"];
  if (raw === undefined || raw.trim() === "") return DEFAULT_IDLE_SECONDS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new FlorUsageError(`FLOR_DAEMON_IDLE_SECONDS must be a positive number of seconds, not "${raw}"`);
  return value;
}
