import { sql, type Kysely, type Migration, type MigrationProvider, type RawBuilder } from "kysely";
import { STORE_SCHEMA } from "./schema.js";

/** Migrations, in order. Never edit one that has shipped: add the next. */
const migrations: Record<string, Migration> = {
  "0001-record": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("projects")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("projid", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable("runs")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("project_id", "integer", (c) => c.notNull().references("projects.id").onDelete("cascade"))
        .addColumn("tstamp", sql`timestamptz(3)`, (c) => c.notNull())
        .addColumn("filename", "text", (c) => c.notNull())
        .addColumn("vid", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("pid", "integer")
        .addColumn("hostname", "text")
        .addColumn("argv", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn("node_version", "text")
        .addColumn("ended_at", sql`timestamptz(3)`)
        .addColumn("seconds", "double precision")
        .addColumn("exit_code", "integer")
        .addColumn("error", "text")
        .addUniqueConstraint("runs_identity", ["project_id", "tstamp", "filename"])
        .execute();
      await db.schema.createIndex("runs_vid").on("runs").columns(["project_id", "vid"]).execute();
      await db.schema
        .createTable("args")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("value", "jsonb", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("args_pk", ["run_id", "name"])
        .execute();
      await db.schema
        .createTable("loops")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("ctx_id", "integer", (c) => c.notNull())
        .addColumn("parent_ctx_id", "integer")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("iteration", "integer", (c) => c.notNull())
        .addColumn("value", "jsonb")
        .addColumn("depth", "integer", (c) => c.notNull())
        .addColumn("dims", "jsonb", (c) => c.notNull())
        .addColumn("seconds", "double precision")
        .addPrimaryKeyConstraint("loops_pk", ["run_id", "ctx_id"])
        .execute();
      await db.schema
        .createTable("loop_summaries")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("parent_ctx_id", "integer")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("iterations", "integer", (c) => c.notNull())
        .addColumn("start_offset", "double precision", (c) => c.notNull())
        .addColumn("seconds", "double precision", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("loop_summaries_run").on("loop_summaries").column("run_id").execute();
      // No primary key on logs: ingestion is exactly-once by journal offsets, and the table is the big one.
      await db.schema
        .createTable("logs")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("ctx_id", "integer")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("num", "double precision")
        .addColumn("value", "jsonb")
        .execute();
      await db.schema.createIndex("logs_name_run").on("logs").columns(["name", "run_id"]).execute();
      await db.schema
        .createTable("log_names")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("dim_keys", sql`text[]`, (c) => c.notNull())
        .addColumn("count", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("log_names_pk", ["run_id", "name"])
        .execute();
      await db.schema.createIndex("log_names_name").on("log_names").column("name").execute();
      await db.schema
        .createTable("checkpoints")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("ctx_id", "integer", (c) => c.notNull())
        .addColumn("objects", "jsonb", (c) => c.notNull())
        .addColumn("bytes", "bigint", (c) => c.notNull())
        .addColumn("written_bytes", "bigint", (c) => c.notNull())
        .addColumn("seconds", "double precision", (c) => c.notNull())
        .addPrimaryKeyConstraint("checkpoints_pk", ["run_id", "ctx_id"])
        .execute();
      await db.schema
        .createTable("journals")
        .addColumn("project_id", "integer", (c) => c.notNull().references("projects.id").onDelete("cascade"))
        .addColumn("path", "text", (c) => c.notNull())
        .addColumn("run_id", "integer")
        .addColumn("offset", "bigint", (c) => c.notNull())
        .addColumn("lines", "integer", (c) => c.notNull())
        .addColumn("bad_lines", "integer", (c) => c.notNull())
        .addColumn("complete", "boolean", (c) => c.notNull())
        .addColumn("updated_at", "timestamptz", (c) => c.notNull())
        .addPrimaryKeyConstraint("journals_pk", ["project_id", "path"])
        .execute();
      await db.schema
        .createTable("replay_jobs")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("project_id", "integer", (c) => c.notNull().references("projects.id").onDelete("cascade"))
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("request", "jsonb", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("error", "text")
        .execute();
    },
  },
  "0002-replay": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("replay_jobs")
        .addColumn("fingerprint", "text")
        .addColumn("plan", "jsonb")
        .addColumn("workers", "integer")
        .addColumn("estimated_seconds", "double precision")
        .addColumn("started_at", "timestamptz")
        .addColumn("finished_at", "timestamptz")
        .execute();
      await db.schema.createIndex("replay_jobs_fingerprint").on("replay_jobs").columns(["project_id", "fingerprint"]).execute();
      await db.schema
        .createTable("replay_tasks")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("job_id", "integer", (c) => c.notNull().references("replay_jobs.id").onDelete("cascade"))
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("spec", "jsonb", (c) => c.notNull())
        .addColumn("estimated_seconds", "double precision", (c) => c.notNull())
        .addColumn("iterations", "integer", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("worker", "text")
        .addColumn("journal", "text")
        .addColumn("started_at", "timestamptz")
        .addColumn("finished_at", "timestamptz")
        .addColumn("values_written", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("divergences", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("error", "text")
        .execute();
      await db.schema.createIndex("replay_tasks_job").on("replay_tasks").columns(["job_id", "status"]).execute();
      // Kept in the store so that a watcher that reconnects (or a restarted server) misses nothing.
      await db.schema
        .createTable("replay_events")
        .addColumn("id", "bigserial", (c) => c.primaryKey())
        .addColumn("job_id", "integer", (c) => c.notNull().references("replay_jobs.id").onDelete("cascade"))
        .addColumn("at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("task_id", "integer")
        .addColumn("data", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .execute();
      await db.schema.createIndex("replay_events_job").on("replay_events").columns(["job_id", "id"]).execute();
      // What replay has filled per run and name: the planner never replays a part twice, and a retried
      // task cannot store a value twice.
      await db.schema
        .createTable("replay_coverage")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("part", "text", (c) => c.notNull())
        .addColumn("iteration", "integer", (c) => c.notNull())
        .addColumn("task_id", "integer")
        .addPrimaryKeyConstraint("replay_coverage_pk", ["run_id", "name", "part", "iteration"])
        .execute();
      await db.schema
        .createTable("replay_divergences")
        .addColumn("run_id", "integer", (c) => c.notNull())
        .addColumn("task_id", "integer")
        .addColumn("ctx_id", "integer")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("occurrence", "integer", (c) => c.notNull())
        .addColumn("recorded", "jsonb")
        .addColumn("replayed", "jsonb")
        .addColumn("detail", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("replay_divergences_run").on("replay_divergences").column("run_id").execute();
    },
  },
  "0003-logs-by-context": {
    async up(db: Kysely<unknown>) {
      // Replay compares a run's values in the contexts it re-executed: a range of context ids within a
      // name and run. The name-and-run prefix still serves every query by name.
      await db.schema.dropIndex("logs_name_run").execute();
      await db.schema.createIndex("logs_name_run_ctx").on("logs").columns(["name", "run_id", "ctx_id"]).execute();
    },
  },
  "0004-replay-verification": {
    async up(db: Kysely<unknown>) {
      // True only on replayed values that no replay could verify (a from-start replay did not reproduce the
      // run's recorded values); NULL everywhere else, which costs no space in the big table.
      await db.schema.alterTable("logs").addColumn("unverified", "boolean").execute();
      // Which replay diverged: one that restored checkpoints (its values were refused and the run replayed
      // from its start) or one from the start (its values are stored, unverified); an id to page by.
      await db.schema
        .alterTable("replay_divergences")
        .addColumn("id", "bigserial", (c) => c.primaryKey())
        .addColumn("stage", "text")
        .execute();
      await db.schema.createIndex("replay_divergences_task").on("replay_divergences").columns(["task_id", "id"]).execute();
      await db.schema
        .alterTable("replay_tasks")
        .addColumn("redone", "boolean", (c) => c.notNull().defaultTo(false))
        .addColumn("unverified", "integer", (c) => c.notNull().defaultTo(0))
        // JSON text, not jsonb: the coordinates in it keep their order, outer loops first.
        .addColumn("diagnosis", "text")
        .execute();
      // Values stored by replays that diverged before replays were checked: they cannot be told apart from
      // right ones any more, so they are all unverified (replayed values have sequence numbers from 10^9).
      const table = (name: string) => sql.table(`${STORE_SCHEMA}.${name}`);
      await sql`update ${table("logs")} g set unverified = true
        from (select distinct c.run_id, c.name from ${table("replay_coverage")} c
              join ${table("replay_tasks")} t on t.id = c.task_id where t.divergences > 0) d
        where g.run_id = d.run_id and g.name = d.name and g.seq >= 1000000000`.execute(db);
    },
  },
  "0005-checkpoint-usability": {
    async up(db: Kysely<unknown>) {
      // Why a run's checkpoints cannot be restored (its first checkpoint failed the round trip; null when
      // they can or the run never said), and what its checkpoint policy decided (the ckpolicy record).
      await db.schema.alterTable("runs").addColumn("checkpoints_unusable", "text").addColumn("checkpoint_policy", "jsonb").execute();
    },
  },
  "0006-loop-ranges-and-log-streams": {
    async up(db: Kysely<unknown>) {
      // Loop structure as ranges of contexts and values by stream (run, name, range), instead of a row per
      // iteration and a JSON `dims` per value: a 5 M-step run keeps thousands of loop rows, and a filter on
      // a loop's index selects streams by their ranges before it reads any value. Existing data is converted
      // here; `logs` and `loops` stay as views with their old columns.
      const run = (statement: RawBuilder<unknown>) => statement.execute(db);
      await run(sql`create table flor.loop_ranges (
        run_id integer not null, ctx_id integer not null, count integer not null, parent_ctx_id integer,
        name text not null, iteration integer not null, value jsonb, depth integer not null,
        outer_dims jsonb not null, seconds double precision, timed integer not null,
        primary key (run_id, ctx_id))`);
      await run(sql`create table flor.log_streams (id serial primary key, run_id integer not null, name text not null, ctx_id integer)`);
      await run(sql`create unique index log_streams_key on flor.log_streams (name, run_id, ctx_id) nulls not distinct`);
      // No primary key: ingestion is exactly-once by journal offsets. Within a stream, values are few
      // enough (RANGE_SPAN contexts) that one deduplicated index entry per value suffices.
      // `unverified` as in migration 0004: true only on replayed values no replay could verify.
      await run(sql`create table flor.log_values (stream_id integer not null, ctx_id integer, seq integer not null,
        num double precision, value jsonb, unverified boolean)`);
      await run(sql`create index log_values_stream on flor.log_values (stream_id)`);

      // Each old context's range: consecutive contexts of one loop execution (same parent and name,
      // consecutive iterations, no item values), cut at multiples of 4096 (RANGE_SPAN, as ingest does).
      await run(sql`create temporary table context_range as
        select run_id, ctx_id, min(ctx_id) over (partition by run_id, parent_ctx_id, name, run_key, ctx_id / 4096) as range_ctx
        from (select run_id, ctx_id, parent_ctx_id, name,
          case when value is null then ctx_id - iteration else -ctx_id end as run_key from flor.loops) l`);
      await run(sql`create index on context_range (run_id, ctx_id)`);
      await run(sql`analyze context_range`);
      await run(sql`insert into flor.loop_ranges
        select l.run_id, c.range_ctx, count(*), min(l.parent_ctx_id), min(l.name), min(l.iteration), (array_agg(l.value))[1],
          min(l.depth), coalesce((array_agg(p.dims))[1], '{}'::jsonb), sum(l.seconds), count(l.seconds)
        from flor.loops l join context_range c on c.run_id = l.run_id and c.ctx_id = l.ctx_id
        left join flor.loops p on p.run_id = l.run_id and p.ctx_id = l.parent_ctx_id
        group by l.run_id, c.range_ctx`);
      await run(sql`insert into flor.log_streams (run_id, name, ctx_id)
        select distinct g.run_id, g.name, c.range_ctx
        from flor.logs g left join context_range c on c.run_id = g.run_id and c.ctx_id = g.ctx_id`);
      await run(sql`insert into flor.log_values (stream_id, ctx_id, seq, num, value, unverified)
        select s.id, g.ctx_id, g.seq, g.num, g.value, g.unverified
        from flor.logs g left join context_range c on c.run_id = g.run_id and c.ctx_id = g.ctx_id
        join flor.log_streams s on s.run_id = g.run_id and s.name = g.name and coalesce(s.ctx_id, 0) = coalesce(c.range_ctx, 0)
        order by s.id, g.seq`);
      await run(sql`drop table context_range`);
      await run(sql`drop table flor.logs`);
      await run(sql`drop table flor.loops`);
      await run(sql`create view flor.logs as
        select s.run_id, v.seq, v.ctx_id, s.name, v.num, v.value, v.unverified
        from flor.log_values v join flor.log_streams s on s.id = v.stream_id`);
      await run(sql`create view flor.loops as
        select r.run_id, r.ctx_id + k as ctx_id, r.parent_ctx_id, r.name, r.iteration + k as iteration, r.value, r.depth,
          r.outer_dims || jsonb_build_object(r.name, r.iteration + k)
            || case when r.value is null then '{}'::jsonb else jsonb_build_object(r.name || '_value', r.value) end as dims,
          r.seconds / nullif(r.timed, 0) as seconds
        from flor.loop_ranges r cross join lateral generate_series(0, r.count - 1) as k`);
    },
  },
  "0008-log-stream-stats": {
    async up(db: Kysely<unknown>) {
      // Per stream, the partial aggregates that ingest keeps as it stores values, so that a count, sum,
      // average, min or max per outer loop (an epoch) combines a few rows per stream instead of reading
      // every value. A number is what FlorQL aggregates reads as one (`num`, or a JSON number); `present`
      // counts the values that are not NULL (JSON null included), as count(x) does.
      const run = (statement: RawBuilder<unknown>) => statement.execute(db);
      await run(sql`create table flor.log_stream_stats (
        stream_id integer primary key references flor.log_streams (id) on delete cascade,
        value_count bigint not null, present_count bigint not null, number_count bigint not null,
        num_sum double precision, num_min double precision, num_max double precision, unverified_count bigint not null)`);
      await run(sql`insert into flor.log_stream_stats
        select stream_id, count(*), count(*) filter (where num is not null or (value is not null and value <> 'null'::jsonb)),
          count(x), sum(x), min(x), max(x), count(*) filter (where unverified)
        from (select stream_id, num, value, unverified,
          coalesce(num, case when jsonb_typeof(value) = 'number' then (value #>> '{}')::float8 end) as x from flor.log_values) v
        group by stream_id`);
    },
  },
  "0009-import-seconds": {
    async up(db: Kysely<unknown>) {
      // Seconds from the run's process start to its first flordb call (node and the script's imports), from
      // its run header; null for journals written before flordb recorded it.
      await db.schema.alterTable("runs").addColumn("import_seconds", "double precision").execute();
    },
  },
  "0010-log-values-block-range-index": {
    async up(db: Kysely<unknown>) {
      // log_values is written in stream order (a batch's streams are new, and values arrive by stream), so
      // a block-range index finds a stream's values as well as a B-tree does, in a few kilobytes instead of
      // 8 bytes per value (13 % of a store of one-number values). 16 pages (about 2,500 values) per range:
      // a stream of RANGE_SPAN values spans 2–3 ranges. Ingest summarizes the ranges it adds (PGlite has no
      // autovacuum to do it); a range never summarized is read by every query, so nothing is ever missed.
      await sql`drop index flor.log_values_stream`.execute(db);
      await sql`create index log_values_stream on flor.log_values using brin (stream_id) with (pages_per_range = 16)`.execute(db);
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
