import path from "node:path";
import { sql } from "kysely";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { layoutFor, type ProjectLayout } from "../../src/project-layout.js";
import { Flor } from "../../src/sdk/flor.js";
import { ingest } from "../../src/store/ingest.js";
import type { Store } from "../../src/store/open-store.js";
import { TestRepo } from "../helpers/repo.js";
import { backends } from "../helpers/stores.js";

describe.each(backends())("per-stream partial aggregates in $name", (backend) => {
  let repo: TestRepo;
  let layout: ProjectLayout;
  let store: Store | null = null;

  beforeEach(async () => {
    repo = TestRepo.create({ "train.mjs": "" });
    layout = layoutFor(repo.dir);
    await backend.prepare(repo.dir);
  });
  afterEach(async () => {
    await store?.close();
    store = null;
    repo.remove();
  });
  afterAll(() => backend.cleanup());

  const kept = async (db: Store) =>
    (
      await sql<Record<string, unknown>>`select s.name, s.ctx_id, x.value_count::int, x.present_count::int, x.number_count::int,
          x.num_sum, x.num_min, x.num_max, x.unverified_count::int
        from flor.log_stream_stats x join flor.log_streams s on s.id = x.stream_id order by s.name, s.ctx_id nulls first`.execute(db.db)
    ).rows;

  it("keeps, per stream, every value, the present ones, and the numbers' count, sum, min and max in float8 order", async () => {
    const flor = new Flor({ script: path.join(repo.dir, "train.mjs"), argv: [], autoCommit: false });
    for (const epoch of flor.loop("epoch", 3)) {
      flor.log("x", epoch === 1 ? NaN : epoch - 0.5);
      flor.log("x", epoch === 2 ? null : "text");
      flor.log("y", epoch === 0 ? -Infinity : { epoch });
    }
    flor.log("x", 10);
    await flor.commit();
    store = await backend.open(layout);
    await ingest(store, layout);
    // One range of the three epochs: x's values there are -0.5, "text", NaN, "text", 1.5, null.
    expect(await kept(store)).toEqual([
      {
        name: "x",
        ctx_id: null,
        value_count: 1,
        present_count: 1,
        number_count: 1,
        num_sum: 10,
        num_min: 10,
        num_max: 10,
        unverified_count: 0,
      },
      {
        name: "x",
        ctx_id: 1,
        value_count: 6,
        present_count: 5,
        number_count: 3,
        num_sum: NaN,
        num_min: -0.5,
        num_max: NaN,
        unverified_count: 0,
      },
      {
        name: "y",
        ctx_id: 1,
        value_count: 3,
        present_count: 3,
        number_count: 1,
        num_sum: -Infinity,
        num_min: -Infinity,
        num_max: -Infinity,
        unverified_count: 0,
      },
    ]);
  });

  it("are computed for a store that had values before migration 0008", async () => {
    const flor = new Flor({ script: path.join(repo.dir, "train.mjs"), argv: [], autoCommit: false });
    for (const epoch of flor.loop("epoch", 5000)) flor.log("x", epoch % 3 === 0 ? "text" : epoch / 7);
    await flor.commit();
    store = await backend.open(layout);
    await ingest(store, layout);
    const expected = await kept(store);
    expect(expected).toHaveLength(2);
    // As a store migrated before 0008 (and so before 0009 and 0010): what they add and their records gone.
    await sql`drop table flor.log_stream_stats`.execute(store.db);
    await sql`alter table flor.runs drop column import_seconds`.execute(store.db);
    await sql`drop index flor.log_values_stream`.execute(store.db);
    await sql`create index log_values_stream on flor.log_values (stream_id)`.execute(store.db);
    await sql`delete from flor.kysely_migration where name in ('0008-log-stream-stats', '0009-import-seconds', '0010-log-values-block-range-index')`.execute(
      store.db,
    );
    await store.close();
    store = await backend.open(layout);
    expect(await kept(store)).toEqual(expected);
  });
});
