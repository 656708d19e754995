import type { ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import type { Readable } from "node:stream";
import type { TestRepo } from "./repo.js";

export interface RunningServe {
  url: string;
  process: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Sends the signal (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `flor serve --port 0` in the repository and resolves once it listens, with its URL. An empty
 * FLOR_DATABASE_URL (the default here) keeps the embedded store even when the test run has a PostgreSQL server.
 */
export async function startServe(
  repo: TestRepo,
  args: string[] = [],
  env: NodeJS.ProcessEnv = { FLOR_DATABASE_URL: "" },
): Promise<RunningServe> {
  const child = repo.startFlor(["serve", "--port", "0", ...args], env);
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /serving GraphQL at (\S+)/.exec(stderr);
      if (found) resolve(found[1]!);
    });
    child.once("exit", (code) => reject(new Error(`flor serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    process: child,
    stderr: () => stderr,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}
