import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT, TestRepo } from "../helpers/repo.js";

// Far more output than a pipe holds (64 KiB), so the command is still writing when the reader leaves.
const SCRIPT = `import { flor } from "flordb";
for (const epoch of flor.loop("epoch", 100)) for (const step of flor.loop("step", 100)) flor.log("v", epoch * 1000 + step);
`;

/** Runs flor with its stdout read until `bytes` arrived, then closed, as `| head -c bytes` does. */
function readThenClose(repo: TestRepo, args: string[], env: NodeJS.ProcessEnv, bytes: number) {
  return new Promise<{ status: number | null; stderr: string; read: number }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, "bin/flor.js"), ...args], {
      cwd: repo.dir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let read = 0;
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      read += chunk.length;
      if (read >= bytes) child.stdout.destroy();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stderr, read }));
  });
}

describe("a reader that closes flor's output early", () => {
  let repo: TestRepo;
  const env = { FLOR_DATABASE_URL: "" };

  beforeAll(() => {
    repo = TestRepo.create({ "big.mjs": SCRIPT });
    expect(repo.runScript("big.mjs").status).toBe(0);
  });
  afterAll(() => repo.remove());

  it.each([
    ["through the daemon", env],
    ["holding the store", { ...env, FLOR_NO_DAEMON: "1" }],
  ])(
    "ends the command quietly, %s",
    async (_how, how) => {
      for (const args of [
        ["dataframe", "v", "--format", "json"],
        ["query", "SELECT epoch, step, v FROM big.mjs"],
      ]) {
        const outcome = await readThenClose(repo, args, how, 1200);
        expect(outcome.read).toBeGreaterThanOrEqual(1200);
        expect(outcome.stderr).toBe("");
        expect(outcome.status).toBe(0);
      }
    },
    120_000,
  );

  it("prints a large answer through the daemon as the command holding the store does, and the daemon serves on", async () => {
    // Pieces of 64 KiB cross the daemon's socket: these answers take many, and the pipe above left mid-way.
    for (const args of [
      ["dataframe", "v"],
      ["dataframe", "v", "--format", "json"],
      ["query", "SELECT epoch, step, v FROM big.mjs WHERE step >= 10", "--format", "csv"],
    ]) {
      const held = repo.flor(args, { ...env, FLOR_NO_DAEMON: "1" });
      const served = repo.flor(args, env);
      expect(held.status, held.stderr).toBe(0);
      expect(served.status, served.stderr).toBe(0);
      expect(served.stdout.length).toBeGreaterThan(100_000);
      expect(served.stdout).toBe(held.stdout);
    }
    // A reader that leaves mid-way: the daemon stops printing for it and answers the next command.
    expect((await readThenClose(repo, ["dataframe", "v"], env, 1200)).status).toBe(0);
    const status = repo.flor(["daemon", "status", "--format", "json"], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ host: "daemon", requests: 1 });
  }, 120_000);
});
