import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { FlorError } from "../errors.js";

export interface ChildResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what the child wrote to stderr, for error messages. */
  stderr: string;
  seconds: number;
}

const STDERR_TAIL = 4000;

/**
 * Runs a script of a materialised version in a child process: node for JavaScript, node with tsx's
 * loader for TypeScript (tsx from the project, else from flordb's own dependencies; the loader rather
 * than tsx's CLI, which would start a second process). `onSpawn` gets the child, so a cancelled job can kill it.
 */
export function runScript(
  tree: string,
  projectRoot: string,
  filename: string,
  argv: readonly string[],
  env: Record<string, string>,
  onSpawn?: (kill: () => void) => void,
): Promise<ChildResult> {
  const script = path.join(tree, filename);
  const command = runsUnderTsx(filename) ? ["--import", tsxLoader(projectRoot), script] : [script];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...command, ...argv], {
      cwd: tree,
      // The child stops itself when this process dies (see src/sdk/parent-watch.ts).
      env: { ...process.env, ...env, FLOR_REPLAY_PARENT: String(process.pid) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    onSpawn?.(() => child.kill("SIGKILL"));
    child.on("error", reject);
    child.on("close", (exitCode, signal) => resolve({ exitCode, signal, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

/** Whether a script runs with tsx's loader: TypeScript entry scripts. */
export function runsUnderTsx(filename: string): boolean {
  return /\.(?:[mc]?ts|tsx)$/.test(filename);
}

/** tsx's loader as a URL for `--import`: the project's own tsx, else flordb's. */
export function tsxLoader(projectRoot: string): string {
  for (const base of [path.join(projectRoot, "package.json"), import.meta.url]) {
    try {
      // tsx's whole loader (ESM and CommonJS, as `npx tsx` runs scripts), so CommonJS projects replay too.
      return pathToFileURL(createRequire(base).resolve("tsx")).href;
    } catch {
      // try the next place
    }
  }
  throw new FlorError("replaying a TypeScript script needs tsx", { hint: "npm install --save-dev tsx" });
}
