import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { alive, LONG_TASKS } from "../helpers/long-tasks.js";
import { TestRepo } from "../helpers/repo.js";

describe("a replay task whose replay was killed", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it.each(LONG_TASKS)(
    "stops itself, in %s (issue 13: tasks outlived a killed flor replay)",
    async (_what, script) => {
      repo = TestRepo.create({ "task.mjs": script });
      // The replay stand-in: a shell that starts the task naming itself as its replay, then is killed.
      const shell = spawn("sh", ["-c", `FLOR_REPLAY_PARENT=$$ ${JSON.stringify(process.execPath)} task.mjs & wait`], {
        cwd: repo.dir,
        stdio: "ignore",
      });
      const pidFile = path.join(repo.dir, "pid");
      for (let waited = 0; !existsSync(pidFile) || readFileSync(pidFile, "utf8") === ""; waited += 50) {
        if (waited > 30_000) throw new Error("the task never started");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const task = Number(readFileSync(pidFile, "utf8"));
      expect(alive(task)).toBe(true);
      shell.kill("SIGKILL");
      let waited = 0;
      while (alive(task) && waited < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        waited += 100;
      }
      const stillAlive = alive(task);
      if (stillAlive) process.kill(task, "SIGKILL");
      expect(stillAlive).toBe(false);
    },
    60_000,
  );
});
