import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { FlorError } from "../errors.js";

export interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/**
 * An exclusive lock on an embedded store: PGlite corrupts its data directory when two processes
 * open it at once. The lock file is created atomically (hard link of a complete temporary file) and
 * names its owner, so a second `flor` says who holds it; a lock whose owner died is taken over.
 */
export class DirectoryLock {
  private constructor(readonly file: string) {}

  static acquire(file: string, command: string): DirectoryLock {
    mkdirSync(path.dirname(file), { recursive: true });
    const owner: LockOwner = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(owner));
    } catch (error) {
      rmSync(temporary, { force: true });
      throw new FlorError(`cannot lock the embedded store ${path.dirname(file)}: ${(error as Error).message}`, {
        cause: error,
        hint: (error as NodeJS.ErrnoException).code === "ENOSPC" ? "Free some space on its disk and run the command again." : undefined,
      });
    }
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          linkSync(temporary, file);
          return new DirectoryLock(file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        const holder = readOwner(file);
        if (holder !== null && isAlive(holder)) {
          throw new FlorError(
            `the embedded store ${path.dirname(file)} is in use by \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, since ${holder.since}).`,
            {
              hint:
                holder.command === "flor serve"
                  ? "Commands go through `flor serve` once it listens (with FLOR_NO_DAEMON=1 only runs, versions, query, explain and replay without --dry-run do); otherwise stop it (Ctrl-C) or set FLOR_DATABASE_URL to a PostgreSQL server."
                  : "Wait for it to finish or stop it; commands share the store through the flor daemon (unless FLOR_NO_DAEMON is set) or `flor serve`, or set FLOR_DATABASE_URL to a PostgreSQL server.",
            },
          );
        }
        // The owner is gone: move its lock aside (only one contender's rename succeeds) and retry.
        try {
          renameSync(file, `${file}.stale.${process.pid}`);
          rmSync(`${file}.stale.${process.pid}`, { force: true });
        } catch {
          // Someone else took it over first; the next link attempt tells.
        }
      }
      throw new FlorError(`could not lock the embedded store ${path.dirname(file)}; try again.`);
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  release(): void {
    const holder = readOwner(this.file);
    if (holder !== null && holder.pid === process.pid && holder.host === hostname()) rmSync(this.file, { force: true });
  }
}

/** Who holds the lock `file`, when its owner lives (or runs on another host, where we cannot tell). */
export function liveHolder(file: string): LockOwner | null {
  const holder = readOwner(file);
  return holder !== null && isAlive(holder) ? holder : null;
}

function readOwner(file: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LockOwner;
  } catch {
    return null;
  }
}

/** Whether a process is alive; on another host we cannot tell, so it counts as alive. */
export function isAlive(owner: { pid: number; host: string }): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !zombie(owner.pid);
}

/**
 * Whether a process has exited but its parent has not collected it yet (Linux): it writes nothing more,
 * though signals still reach it. Elsewhere, or when /proc cannot say, it is taken to be running.
 */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state follows the command name, which is in parentheses and may itself hold ") ".
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}
