import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { ingest } from "../../src/store/ingest.js";
import type { Store } from "../../src/store/open-store.js";
import { bindProject } from "../../src/store/project-store.js";
import { dataframe } from "../../src/store/queries/dataframe.js";
import { listRuns } from "../../src/store/queries/runs.js";
import { TestRepo } from "../helpers/repo.js";
import { backends } from "../helpers/stores.js";

const STEPS = 300_000;
const SCRIPT = `import { flor } from "flordb";
for (const step of flor.loop("step", ${STEPS})) flor.log("v", step * 2);
`;

describe.each(backends())("an ingest while the run ends, on $name", (backend) => {
  let repo: TestRepo;
  let layout: ProjectLayout;
  let store: Store | null = null;

  beforeEach(async () => {
    repo = TestRepo.create({ "long.mjs": SCRIPT });
    layout = layoutFor(repo.dir);
    await backend.prepare(repo.dir);
  });
  afterEach(async () => {
    await store?.close();
    store = null;
    repo.remove();
  });
  afterAll(() => backend.cleanup());

  it("reads the last batch and the end written after it took the journal's size (issue 13: the run was left incomplete for good)", async () => {
    expect(repo.runScript("long.mjs").status).toBe(0);
    const [file] = readdirSync(layout.journalsDir);
    const journal = path.join(layout.journalsDir, file!);
    const lines = readFileSync(journal, "utf8").split("\n");
    // The journal as it was while the run went on, and its writer: a process that writes the last batches
    // and the `end` a moment after the ingest started, and exits (PGlite runs in this thread, so this test
    // cannot do it itself while the ingest runs).
    const cut = Math.floor(lines.length * 0.8);
    const rest = `${journal}.rest`;
    writeFileSync(rest, lines.slice(cut).join("\n"));
    store = await backend.open(layout);
    const writer = spawn(
      process.execPath,
      [
        "-e",
        "setTimeout(() => require('fs').appendFileSync(process.argv[1], require('fs').readFileSync(process.argv[2])), 250)",
        journal,
        rest,
      ],
      { stdio: "ignore" },
    );
    const exited = new Promise((resolve) => writer.once("exit", resolve));
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    header["pid"] = writer.pid;
    writeFileSync(journal, `${[JSON.stringify(header), ...lines.slice(1, cut)].join("\n")}\n`);

    const ingesting = ingest(store, layout);
    const first = await ingesting;
    await exited;
    expect(first.problems).toEqual([]);

    const scope = await bindProject(store, layout.projid);
    const [run] = await listRuns(scope, layout.projid);
    expect(run!.status).toBe("ok");
    const frame = await dataframe(scope, layout.projid, ["v"]);
    expect(frame.rows).toHaveLength(STEPS);
    expect(frame.rows.every((row) => row["v"] === (row["step"] as number) * 2)).toBe(true);
  }, 180_000);

  it("reads on a journal that an earlier ingest settled as incomplete although it grew", async () => {
    expect(repo.runScript("long.mjs").status).toBe(0);
    const [file] = readdirSync(layout.journalsDir);
    const journal = path.join(layout.journalsDir, file!);
    const whole = readFileSync(journal, "utf8");
    const lines = whole.split("\n");
    const cut = Math.floor(lines.length * 0.5);
    // What an earlier flordb left: the first half read and the run settled incomplete (its writer dead).
    writeFileSync(journal, `${lines.slice(0, cut).join("\n")}\n`);
    store = await backend.open(layout);
    await ingest(store, layout);
    const scope = await bindProject(store, layout.projid);
    expect((await listRuns(scope, layout.projid))[0]!.status).toBe("incomplete");
    writeFileSync(journal, whole);
    expect((await ingest(store, layout)).problems).toEqual([]);
    expect((await listRuns(scope, layout.projid))[0]!.status).toBe("ok");
    expect((await dataframe(scope, layout.projid, ["v"])).rows).toHaveLength(STEPS);
  }, 180_000);
});
