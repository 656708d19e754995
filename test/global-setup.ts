import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A PostgreSQL server URL (to its `postgres` database), or null when the suite has no server. */
    pgUrl: string | null;
    /** A directory for files the test workers share (the PGlite template), removed after the run. */
    scratchDir: string;
  }
}

const run = promisify(execFile);
const SCRIPT = path.resolve(import.meta.dirname, "../scripts/throwaway-postgres.sh");
/** scripts/throwaway-postgres.sh exits with this when there are no PostgreSQL binaries. */
const NO_BINARIES = 3;

/** The directory of the throwaway server this process started, until it is stopped. */
let started: string | null = null;
let scratch: string | null = null;

function stopSync(): void {
  const dir = started;
  if (dir === null) return;
  started = null;
  try {
    execFileSync("bash", [SCRIPT, "stop", dir], { stdio: ["ignore", "ignore", "inherit"] });
  } catch {
    // best effort: the process is exiting anyway
  }
}

/**
 * Gives the suite a PostgreSQL server as `inject("pgUrl")`: FLOR_TEST_DATABASE_URL when it is set
 * (CI starts one), otherwise a throwaway cluster when PostgreSQL is installed, otherwise null (tests
 * then skip their PostgreSQL variants).
 */
export async function setup(project: TestProject): Promise<void> {
  scratch = mkdtempSync(path.join(tmpdir(), "flor-test-scratch-"));
  project.provide("scratchDir", scratch);
  const given = process.env["FLOR_TEST_DATABASE_URL"];
  if (given) {
    project.provide("pgUrl", given);
    return;
  }

  const dir = mkdtempSync(path.join(tmpdir(), "flor-test-pg-"));
  let url: string;
  try {
    const { stdout } = await run("bash", [SCRIPT, "start", dir], { encoding: "utf8" });
    url = stdout.trim();
  } catch (error) {
    // execFile's error: `code` is the exit status, or an errno string such as ENOENT (no bash).
    const failure = error as Error & { code?: number | string; stderr?: string };
    rmSync(dir, { recursive: true, force: true });
    if (failure.code === NO_BINARIES || failure.code === "ENOENT") {
      console.warn("warning: PostgreSQL is not installed, so the PostgreSQL variants of the tests will be skipped");
      project.provide("pgUrl", null);
      return;
    }
    throw new Error(
      `could not start a throwaway PostgreSQL server (set FLOR_TEST_DATABASE_URL to use another one):\n${failure.stderr?.trim() || failure.message}`,
    );
  }
  started = dir;
  // Should vitest exit without running teardown (e.g. process.exit after Ctrl-C), still stop the server.
  process.once("exit", stopSync);
  project.provide("pgUrl", url);
}

export async function teardown(): Promise<void> {
  if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
  const dir = started;
  if (dir === null) return;
  started = null;
  process.removeListener("exit", stopSync);
  await run("bash", [SCRIPT, "stop", dir], { encoding: "utf8" });
}
