import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withExplicitContexts } from "../../src/journal/context-ranges.js";
import { encodeRecord } from "../../src/journal/encode.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { ingest, type IngestOptions } from "../../src/store/ingest.js";
import type { Store } from "../../src/store/open-store.js";
import { bindProject } from "../../src/store/project-store.js";
import { dataframe } from "../../src/store/queries/dataframe.js";
import { checkpointSummaries, loopStructures, runLogs } from "../../src/store/queries/run-details.js";
import { listRuns } from "../../src/store/queries/runs.js";
import { readJournal } from "../helpers/journal.js";
import { FIXTURES, TestRepo } from "../helpers/repo.js";
import { backends } from "../helpers/stores.js";

/** Every logged name of the fixture script. */
const NAMES = ["start", "lr_now", "loss", "even", "twice", "bl", "pl", "bv", "acc", "flag", "cutv", "summary", "nothing"];

/** The same journal as format 1 spelled it: a ctx and an it record per iteration. */
function asFormat1(records: JournalRecord[]): string {
  return withExplicitContexts(records, 2)
    .flatMap((record): JournalRecord[] => {
      if (record.k === "run") return [{ ...record, format: 1 }];
      if (record.k === "its") return record.s.map((s, k) => ({ k: "it", id: record.id + k, s }));
      return [record];
    })
    .map(encodeRecord)
    .join("");
}

/** What a store holds of a project, by every reader of loops and values. */
async function contents(store: Store, layout: ProjectLayout) {
  const project = await bindProject(store, layout.projid);
  const logged = new Set((await store.db.selectFrom("log_names").select("name").execute()).map((row) => row.name));
  const runIds = (await store.db.selectFrom("runs").select("id").orderBy("id").execute()).map((r) => r.id);
  const logPages = [];
  // Without `seq`, the journal line: the formats spell a run in different lines.
  for (const id of runIds) logPages.push((await runLogs(store.db, id, null, null, 1000)).map(({ seq: _, ...entry }) => entry));
  // The project's name is its directory's: the same data under any name.
  const named = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll(JSON.stringify(layout.projid), '"project"'));
  return named({
    runs: (await listRuns(project, layout.projid)).map(({ seconds: _, ...run }) => run),
    // Over the names the store has (a cut journal may have logged few of them).
    frames: await Promise.all(
      [NAMES, ["loss", "acc"], ["bl", "pl"], ["twice"]]
        .map((names) => names.filter((name) => logged.has(name)))
        .map((names) => (names.length === 0 ? null : dataframe(project, layout.projid, names))),
    ),
    loops: (await loopStructures(store.db, runIds)).map(({ seconds, ...loop }) => ({ ...loop, timed: seconds !== null })),
    checkpoints: (await checkpointSummaries(store.db, runIds)).map(({ coordinates, bytes }) => ({ coordinates, bytes })),
    logPages,
  });
}

describe.each(backends())("journals of format 2 on $name", (backend) => {
  let repo: TestRepo;
  /** The runs' journals: two complete runs. */
  let journals: { file: string; records: JournalRecord[]; text: string }[];
  let expected: Awaited<ReturnType<typeof contents>>;

  beforeAll(async () => {
    repo = TestRepo.create();
    copyFileSync(path.join(FIXTURES, "journal-v1/train.mjs"), path.join(repo.dir, "train.mjs"));
    repo.commitAll("the fixture script");
    for (const kwargs of [["lr=0.1"], ["lr=0.2", "label=tuned"]])
      expect(repo.runScript("train.mjs", ["--kwargs", ...kwargs]).status).toBe(0);
    const dir = layoutFor(repo.dir).journalsDir;
    journals = readdirSync(dir)
      .sort()
      .map((file) => ({ file, records: readJournal(path.join(dir, file)), text: readFileSync(path.join(dir, file), "utf8") }));
    // What format 1 gives, read by the same ingest: the reference for every test below.
    const reference = TestRepo.create();
    const layout = layoutFor(reference.dir);
    mkdirSync(layout.journalsDir, { recursive: true });
    for (const { file, records } of journals) writeFileSync(path.join(layout.journalsDir, file), asFormat1(records));
    await backend.prepare(reference.dir);
    const store = await backend.open(layout);
    try {
      expect((await ingest(store, layout)).problems).toEqual([]);
      expected = await contents(store, layout);
    } finally {
      await store.close();
      reference.remove();
    }
  });
  afterAll(async () => {
    repo.remove();
    await backend.cleanup();
  });

  /** A fresh store over these journals (this project's by default), ingested with `options`. */
  const ingested = async (
    options: IngestOptions,
    work: (store: Store, layout: ProjectLayout) => Promise<void> = async () => undefined,
    texts: { file: string; text: string }[] = journals,
    // A journal cut mid-line by a killed run: its torn line is what ingest says it ignored.
    torn = texts.some(({ text }) => !text.endsWith("\n")),
  ) => {
    const copy = TestRepo.create();
    const layout = layoutFor(copy.dir);
    mkdirSync(layout.journalsDir, { recursive: true });
    await backend.prepare(copy.dir);
    const store = await backend.open(layout);
    try {
      await work(store, layout);
      if (readdirSync(layout.journalsDir).length === 0)
        for (const { file, text } of texts) writeFileSync(path.join(layout.journalsDir, file), text);
      expect((await ingest(store, layout, options)).problems).toEqual(
        torn ? [expect.stringContaining("ignored an unfinished last line")] : [],
      );
      return await contents(store, layout);
    } finally {
      await store.close();
      copy.remove();
    }
  };

  it("read into what their format-1 spelling gives: the same values, loops and coordinates", async () => {
    expect(journals[0]!.records.filter((r) => r.k === "ctx").length).toBeLessThan(
      withExplicitContexts(journals[0]!.records, 2).filter((r) => r.k === "ctx").length,
    );
    expect(await ingested({})).toEqual(expected);
  });

  it("read the same in batches of a few lines, whatever their reader forgets between batches", async () => {
    expect(await ingested({ chunkBytes: 200, keepRanges: 1 })).toEqual(expected);
  });

  it("read the same, exactly once, while they grow a few bytes at a time, torn lines included", async () => {
    const grown = await ingested({}, async (store, layout) => {
      // The writers are alive as far as ingest can tell: their headers name this process.
      const texts = journals.map(({ text }) =>
        text.replace(/"pid":\d+,"host":"[^"]*"/, `"pid":${process.pid},"host":${JSON.stringify(hostname())}`),
      );
      const step = 997;
      for (let at = 0; texts.some((text) => at < text.length); at += step) {
        texts.forEach((text, k) => {
          if (at < text.length) appendFileSync(path.join(layout.journalsDir, journals[k]!.file), text.slice(at, at + step));
        });
        expect((await ingest(store, layout, { chunkBytes: 1500, keepRanges: 2 })).problems).toEqual([]);
      }
    });
    expect(grown).toEqual(expected);
  });

  it("cut at any byte (a killed run), read what their complete lines say, as format 1 cut at the same line", async () => {
    const { file, text } = journals[0]!;
    // Cuts spread over the journal, each inside a line (the torn last line a crash leaves): not just after
    // a newline, nor just before one, where the line is a whole record (the next test). Where they fall
    // depends on the journal's length, which its header's pid, tstamp and import seconds vary.
    const cuts = Array.from({ length: 4 }, (_, k) => Math.floor(((k + 1) * text.length) / 5)).map((cut) =>
      text[cut - 1] === "\n" ? cut + 1 : text[cut] === "\n" ? cut - 1 : cut,
    );
    for (const cut of cuts) {
      const complete = text.slice(0, cut).split("\n").length - 1;
      const records = journals[0]!.records.slice(0, complete);
      const reference = await ingested({}, undefined, [{ file, text: asFormat1(records) }]);
      expect(await ingested({}, undefined, [{ file, text: text.slice(0, cut) }])).toEqual(reference);
    }
  });

  it("cut just before a newline (a batch's write cut there), read the whole record it ends with", async () => {
    const { file, text } = journals[0]!;
    const cut = text.indexOf("\n", Math.floor(text.length / 2));
    const records = journals[0]!.records.slice(0, text.slice(0, cut).split("\n").length);
    const reference = await ingested({}, undefined, [{ file, text: asFormat1(records) }]);
    expect(await ingested({}, undefined, [{ file, text: text.slice(0, cut) }], false)).toEqual(reference);
  });
});
