import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES = path.join(PACKAGE_ROOT, "test/fixtures");
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");
const FLOR_BIN = path.join(PACKAGE_ROOT, "bin/flor.js");

/** A throwaway git repository of a user's project, with `flordb` installed as a link to this package. */
export class TestRepo {
  private constructor(readonly dir: string) {}

  /** A TestRepo for an existing directory, such as a copy of another one. */
  static at(dir: string): TestRepo {
    return new TestRepo(dir);
  }

  static create(files: Record<string, string> = {}): TestRepo {
    const dir = mkdtempSync(path.join(tmpdir(), "flor-repo-"));
    const repo = new TestRepo(dir);
    repo.git("init", "-q", "-b", "main");
    repo.git("config", "user.name", "Test User");
    repo.git("config", "user.email", "test@example.com");
    mkdirSync(path.join(dir, "node_modules"));
    symlinkSync(PACKAGE_ROOT, path.join(dir, "node_modules/flordb"), "dir");
    repo.write(".gitignore", "node_modules/\n");
    for (const [name, text] of Object.entries(files)) repo.write(name, text);
    repo.commitAll("initial version");
    return repo;
  }

  /** Copies fixture scripts from test/fixtures/scripts into the repository. */
  addFixture(name: string, as = name): this {
    copyFileSync(path.join(FIXTURES, "scripts", name), path.join(this.dir, as));
    return this;
  }

  write(name: string, text: string): this {
    mkdirSync(path.dirname(path.join(this.dir, name)), { recursive: true });
    writeFileSync(path.join(this.dir, name), text);
    return this;
  }

  git(...args: string[]): string {
    return execFileSync("git", args, { cwd: this.dir, encoding: "utf8" }).trim();
  }

  commitAll(message: string): string {
    this.git("add", "-A");
    this.git("commit", "-q", "--allow-empty", "-m", message);
    return this.git("rev-parse", "HEAD");
  }

  /** Runs a script of the repository with node (.mjs/.js) or tsx (.ts). */
  runScript(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
    const command = script.endsWith(".ts") ? [TSX_CLI, script] : [script];
    return spawnSync(process.execPath, [...command, ...args], { cwd: this.dir, encoding: "utf8", env: { ...process.env, ...env } });
  }

  /** Starts a script without waiting, for tests that interrupt it. */
  startScript(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
    return spawn(process.execPath, [script, ...args], {
      cwd: this.dir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  /**
   * Runs the built `flor` CLI in the repository. A command that hangs is killed after `timeoutMs`, so the
   * test fails instead of blocking the suite (vitest cannot time out a synchronous call).
   */
  flor(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): SpawnSyncReturns<string> {
    return spawnSync(process.execPath, [FLOR_BIN, ...args], {
      cwd: this.dir,
      encoding: "utf8",
      env: { ...process.env, ...env },
      timeout: timeoutMs,
      // Answers of tens of thousands of rows: more than spawnSync's default 1 MiB.
      maxBuffer: 64 * 1024 * 1024,
    });
  }

  /** Starts the built `flor` CLI without waiting, for long-running commands (`flor worker`). */
  startFlor(args: string[], env: NodeJS.ProcessEnv = {}) {
    return spawn(process.execPath, [FLOR_BIN, ...args], {
      cwd: this.dir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  /** Stops the flor daemon holding the repository's store, if one does (before copying its store, say). */
  stopDaemon(): void {
    if (!existsSync(path.join(this.dir, ".flor/daemon.sock"))) return;
    const stop = this.flor(["daemon", "stop"], { FLOR_DATABASE_URL: "" }, 120_000);
    if (stop.status !== 0) throw new Error(`flor daemon stop failed: ${stop.stderr}`);
  }

  remove(): void {
    // The daemon would notice its repository gone and exit by itself; stopping it first frees its memory at once.
    this.stopDaemon();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
