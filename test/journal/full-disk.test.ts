import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";

const EPOCHS = 400;
const SCRIPT = `import { flor } from "flordb";
const pause = new Int32Array(new SharedArrayBuffer(4));
for (const epoch of flor.loop("epoch", ${EPOCHS})) {
  Atomics.wait(pause, 0, 0, 5);
  flor.log("v", epoch * 3 + 0.25);
}
`;
const env = { FLOR_DATABASE_URL: "" };

/** A tmpfs of `size` at `dir`; false where this process may not mount (then the test is skipped, saying so). */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]).status === 0;
}

describe("a full disk under the journal", () => {
  let repo: TestRepo | null = null;
  let mounted: string | null = null;
  afterEach(() => {
    if (mounted !== null) spawnSync("umount", [mounted]);
    mounted = null;
    repo?.remove();
    repo = null;
  });

  it("drops records with a counted warning while the training goes on, and writes again once there is room", async (context) => {
    repo = TestRepo.create({ "train.mjs": SCRIPT });
    const journals = path.join(repo.dir, ".flor/journals");
    if (!mountTmpfs(journals, "64k")) {
      console.warn("skipped: mounting a small tmpfs is not allowed here");
      context.skip();
    }
    mounted = journals;
    // Leaves room for the run's start and a few batches, no more.
    const filler = path.join(journals, "filler");
    writeFileSync(filler, Buffer.alloc(60 * 1024));

    const child = spawn(process.execPath, ["train.mjs"], { cwd: repo.dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    const sawFull = new Promise<void>((resolve) =>
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes("cannot be written")) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    await sawFull;
    rmSync(filler);
    expect(await exited).toBe(0);
    expect(stderr).toMatch(
      /flor: warning: the journal .* cannot be written \((ENOSPC|EFBIG)[^)]*\): its records are dropped until there is room; the training goes on/,
    );
    const dropped = Number(/is written again; (\d+) records were dropped meanwhile/.exec(stderr)?.[1]);
    expect(dropped).toBeGreaterThan(0);

    const runs = repo.flor(["runs", "--format", "json"], env);
    expect(runs.status, runs.stderr).toBe(0);
    expect((JSON.parse(runs.stdout) as { status: string }[])[0]!.status).toBe("ok");
    const answer = repo.flor(["query", "SELECT epoch, v FROM train.mjs ORDER BY epoch", "--format", "json"], env);
    expect(answer.status, answer.stderr).toBe(0);
    const rows = (JSON.parse(answer.stdout) as { epoch: number; v: number | null }[]).filter((row) => row.v !== null);
    // Every value stored is right and stored once; the missing ones are among the dropped records.
    expect(rows.every((row) => row.v === row.epoch * 3 + 0.25)).toBe(true);
    expect(new Set(rows.map((row) => row.epoch)).size).toBe(rows.length);
    expect(rows.length).toBeLessThan(EPOCHS);
    expect(EPOCHS - rows.length).toBeLessThanOrEqual(dropped);
    expect(rows.at(-1)!.epoch).toBe(EPOCHS - 1);
  }, 120_000);
});
