import { sql, type RawBuilder } from "kysely";
import { type Aggregate, type Arithmetic, childrenOf, type Expression, type NameRef } from "./ast.js";
import type { AnalyzedQuery, Resolved } from "./analyze.js";
import { STORE_SCHEMA } from "../store/schema.js";
import { parseTimestamp } from "./timestamp.js";
import { unreachable, type ValueType } from "./typecheck.js";
import { aggregatePath, type AggregatePath, isItemKey } from "./stream-aggregates.js";

/** A compiled output column: one SQL column, or for a JSON-typed value its number and JSON parts. */
export interface OutputColumn {
  label: string;
  columns: string[];
}

export interface CompiledQuery {
  query: RawBuilder<Record<string, unknown>>;
  outputs: OutputColumn[];
  /**
   * Per log name of the query, the column that says whether a row's value of it is verified: false
   * when it is (or, aggregated, when one the row draws on is) a replayed value no replay could verify.
   */
  verification: { name: string; column: string }[];
  /** Whether it combines per-stream partial aggregates (a plan) or reads every value (why). */
  path: AggregatePath;
}

const table = (name: string): RawBuilder<unknown> => sql.table(`${STORE_SCHEMA}.${name}`);
/** Our aliases (d0, n0, v0, a0, o0): never user text. */
const id = (name: string): RawBuilder<unknown> => sql.id(name);

/**
 * Compiles an analysed query to one SQL statement over the store: a pivot of the query's log names (one
 * relation per name, full-outer-joined on the run and their shared loop dimensions, as `flor dataframe`),
 * joined with runs and args, then the query's WHERE, GROUP BY, ORDER BY and LIMIT. Every literal and
 * every name the user wrote is a bound parameter; identifiers in the SQL are ours. `runIds` is the run
 * scope that planning pushed down (null: every run of the project).
 */
export function compileSql(
  analyzed: AnalyzedQuery,
  projid: string,
  runIds: readonly number[] | null,
  lacking: ReadonlyMap<string, readonly number[]> = new Map(),
  /** `partialAggregates: false` reads every value even where partial aggregates would do (to compare the two). */
  options: { partialAggregates?: boolean } = {},
): CompiledQuery {
  const { logs, dims, args } = analyzed;
  const dimAlias = (key: string) => `d${dims.indexOf(key)}`;
  const logIndex = new Map(logs.map((log, i) => [log.name, i]));
  const argIndex = new Map(args.map((name, i) => [name, i]));
  const scope = runIds === null ? sql`` : sql` and s.run_id = any(${[...runIds]}::int[])`;
  const pushed = loopDimensionFilters(analyzed);
  const path: AggregatePath =
    options.partialAggregates === false ? { plan: null, reason: "partial aggregates turned off" } : aggregatePath(analyzed, lacking);
  const fast = path.plan;
  const relations = logs.map((log, i) => {
    // A WHERE conjunct on a loop dimension filters every relation that carries it: first the streams (a
    // run's values of the name in one loop range), by the range's iterations or the enclosing loops'
    // indexes, so that only the values of the streams that can match are read; then the values.
    const filters = pushed.filter((f) => log.dims.includes(f.dim));
    const isItem = (key: string) => isItemKey(key, log.dims);
    // Per stream, once: whether a dimension is the range's own loop (its index is then the context's
    // offset from `base`), else its value in the enclosing loops; an item is per range.
    const streamColumns = log.dims.map((key, k) =>
      isItem(key)
        ? sql`case when r.name || '_value' = ${key} and r.value is not null then r.value else r.outer_dims -> ${key} end as ${id(`j${k}`)}`
        : sql`r.name = ${key} as ${id(`i${k}`)}, (r.outer_dims ->> ${key})::int as ${id(`o${k}`)}`,
    );
    const ranges = (range: string) => filters.map((f) => sql` and ${rangeCanMatch(range, f)}`);
    const iteration = fast === null ? [] : [sql`r.iteration`];
    const streamsWhere = (
      extra: RawBuilder<unknown>,
    ) => sql`select ${sql.join([sql`s.id`, sql`s.run_id`, sql`r.ctx_id - r.iteration as base`, ...iteration, ...streamColumns])}
      from ${table("log_streams")} s left join ${table("loop_ranges")} r on r.run_id = s.run_id and r.ctx_id = s.ctx_id
      where s.name = ${log.name}${scope}${sql.join(ranges("r"), sql``)}${extra} offset 0`;
    const streams = streamsWhere(sql``);
    const index = (key: string) => {
      const k = log.dims.indexOf(key);
      return sql`(case when st.${id(`i${k}`)} then lg.ctx_id - st.base else st.${id(`o${k}`)} end)`;
    };
    const dimColumns = log.dims.map((key, k) =>
      isItem(key) ? sql`st.${id(`j${k}`)} as ${id(dimAlias(key))}` : sql`${index(key)} as ${id(dimAlias(key))}`,
    );
    const rowFilters = filters.map((f) => sql` and ${f.test(index(f.dim))}`);
    if (fast !== null) {
      // Covered streams contribute their partial aggregates, with the indexes of their enclosing loops
      // (their range already passed the pushed filters on those); the others, each value as a partial
      // aggregate of one. The outer aggregates combine both (Emitter.combined). Which streams go which
      // way is a condition on the range's loop inside each streams subquery, so that the planner estimates
      // from loop_ranges' statistics how few read values (estimating half of them, PostgreSQL compiled the
      // statement with JIT: 50 of its 60 ms).
      const read = log.dims.filter((key) => isItem(key) || fast.indexKeys.includes(key));
      // A range of one iteration (an iteration with loops inside it) has one index of its own loop too.
      const perStream = read.map((key) => {
        const k = log.dims.indexOf(key);
        const value = isItem(key)
          ? sql`st.${id(`j${k}`)}`
          : sql`(case when st.${id(`i${k}`)} then st.iteration else st.${id(`o${k}`)} end)`;
        return sql`${value} as ${id(dimAlias(key))}`;
      });
      const perValue = read.map((key) => (isItem(key) ? sql`st.${id(`j${log.dims.indexOf(key)}`)}` : index(key)));
      const x = sql`coalesce(lg.num, case when jsonb_typeof(lg.value) = 'number' then (lg.value #>> '{}')::float8 end)`;
      const present = sql`(case when lg.num is null and (lg.value is null or lg.value = 'null'::jsonb) then 0 else 1 end)::bigint`;
      const partial = (columns: RawBuilder<unknown>[]) =>
        sql.join(columns.map((column, c) => sql`${column} as ${id(`${"ckmslhu"[c]}${i}`)}`));
      return sql`select st.run_id${sql.join(
        perStream.map((c) => sql`, ${c}`),
        sql``,
      )}, ${partial([sql`x.value_count`, sql`x.present_count`, sql`x.number_count`, sql`x.num_sum`, sql`x.num_min`, sql`x.num_max`, sql`(x.unverified_count = 0)`])}
        from (${streamsWhere(sql` and (r.name is null or r.name <> all(${fast.indexKeys}::text[]) or r.count = 1)`)}) st
        join ${table("log_stream_stats")} x on x.stream_id = st.id
        union all
        select st.run_id${sql.join(
          perValue.map((c, k) => sql`, ${c} as ${id(dimAlias(read[k]!))}`),
          sql``,
        )}, ${partial([sql`1::bigint`, present, sql`(case when lg.x is null then 0 else 1 end)::bigint`, sql`lg.x`, sql`lg.x`, sql`lg.x`, sql`(lg.unverified is not true)`])}
        from (${streamsWhere(sql` and r.name = any(${fast.indexKeys}::text[]) and r.count > 1`)}) st
        cross join lateral (select lg.*, ${x} as x from ${table("log_values")} lg where lg.stream_id = st.id) lg
        where true${sql.join(rowFilters, sql``)}`;
    }
    const verified = sql`(lg.unverified is not true) as ${id(`u${i}`)}`;
    // The value's journal line orders values with the same coordinates (a name logged twice in a step).
    const values = sql`select st.run_id, ${sql.join([...dimColumns, sql`lg.num as ${id(`n${i}`)}`, sql`lg.value as ${id(`v${i}`)}`, verified, sql`lg.seq as ${id(`q${i}`)}`])}
      from (${streams}) st join ${table("log_values")} lg on lg.stream_id = st.id
      where true${sql.join(rowFilters, sql``)}`;
    // Runs that never logged the name (replay has not filled it, or cannot) still get its rows, empty:
    // one per iteration of the loop the statement is in, or one per run outside loops.
    const missing = lacking.get(log.name) ?? [];
    if (missing.length === 0) return values;
    const innermost = [...log.dims].reverse().find((key) => !isItem(key));
    const empty = sql`null::float8 as ${id(`n${i}`)}, null::jsonb as ${id(`v${i}`)}, null::boolean as ${id(`u${i}`)}, null::integer as ${id(`q${i}`)}`;
    if (innermost === undefined)
      return sql`${values} union all select r.id as run_id, ${empty} from ${table("runs")} r where r.id = any(${[...missing]}::int[])
        and not exists (select 1 from ${table("log_streams")} s where s.name = ${log.name} and s.run_id = r.id)`;
    // One row per context of the loop's ranges; a run replay filled in part (some iterations) has values for those: the skeleton skips them.
    const skeletonIndex = (key: string) => sql`(case when r.name = ${key} then r.iteration + g else (r.outer_dims ->> ${key})::int end)`;
    const skeletonDims = log.dims.map((key) =>
      isItem(key)
        ? sql`(case when r.name || '_value' = ${key} and r.value is not null then r.value else r.outer_dims -> ${key} end) as ${id(dimAlias(key))}`
        : sql`${skeletonIndex(key)} as ${id(dimAlias(key))}`,
    );
    const skeletonFilters = filters.map((f) => sql` and ${f.test(skeletonIndex(f.dim))}`);
    return sql`${values} union all select r.run_id, ${sql.join([...skeletonDims, empty])}
      from ${table("loop_ranges")} r cross join lateral generate_series(0, r.count - 1) as g
      where r.name = ${innermost} and r.run_id = any(${[...missing]}::int[])${sql.join(ranges("r"), sql``)}${sql.join(skeletonFilters, sql``)}
      and not exists (select 1 from ${table("log_streams")} s join ${table("log_values")} lg on lg.stream_id = s.id
        where s.name = ${log.name} and s.run_id = r.run_id and s.ctx_id = r.ctx_id and lg.ctx_id = r.ctx_id + g)`;
  });
  let from: RawBuilder<unknown>;
  if (relations.length === 0) {
    from = sql`${table("runs")} r`;
  } else {
    let pivot = sql`(${relations[0]!}) t0`;
    const joined = new Set(logs[0]!.dims);
    logs.slice(1).forEach((log, index) => {
      const common = ["run_id", ...log.dims.filter((key) => joined.has(key)).map(dimAlias)];
      pivot = sql`${pivot} full join (${relations[index + 1]!}) ${id(`t${index + 1}`)} using (${sql.join(common.map(id))})`;
      for (const key of log.dims) joined.add(key);
    });
    from = sql`(select * from ${pivot}) p join ${table("runs")} r on r.id = p.run_id`;
  }
  const argJoins = args.map(
    (name, i) => sql` left join ${table("args")} ${id(`a${i}`)} on ${id(`a${i}`)}.run_id = r.id and ${id(`a${i}`)}.name = ${name}`,
  );

  // A literal is a bound parameter, and PostgreSQL takes two parameters for different expressions, so
  // `SELECT x + 1 ... GROUP BY x + 1` would not see the output as grouped. Such GROUP BY items are
  // computed once, in a LATERAL subquery, and the outputs and ORDER BY keys that are that item use its column.
  const lateral = analyzed.query.groupBy.map((e, i) => (hasParameter(e) ? `g${i}` : null));
  const emitter = new Emitter(analyzed, logIndex, argIndex, dimAlias, lateral, fast !== null);
  const lateralJoins = analyzed.query.groupBy.flatMap((e, i) => {
    const alias = lateral[i] ?? null;
    return alias === null ? [] : [sql` cross join lateral (select ${emitter.emit(e)} as g) ${id(alias)}`];
  });
  const conditions = [sql`r.project_id = (select id from ${table("projects")} where projid = ${projid})`];
  if (runIds !== null) conditions.push(sql`r.id = any(${[...runIds]}::int[])`);
  if (analyzed.filename !== null) conditions.push(sql`r.filename = ${analyzed.filename}`);
  const where = analyzed.query.where;
  if (where !== null) {
    for (const conjunct of where.kind === "and" ? where.operands : [where]) {
      const filter = pushed.find((f) => f.conjunct === conjunct);
      conditions.push(
        filter === undefined
          ? sql`coalesce(${emitter.emit(conjunct)}, false)`
          : relations.length > 0
            ? sql`p.${id(dimAlias(filter.dim))} is not null`
            : sql`false`,
      );
    }
  }

  const selected: RawBuilder<unknown>[] = [];
  const outputs: OutputColumn[] = analyzed.outputs.map((output, i) => {
    const [value, json] = emitter.emitColumns(output.expression);
    if (json !== undefined) {
      selected.push(sql`${value} as ${id(`o${i}n`)}`, sql`${json} as ${id(`o${i}v`)}`);
      return { label: output.label, columns: [`o${i}n`, `o${i}v`] };
    }
    selected.push(sql`${value} as ${id(`o${i}`)}`);
    return { label: output.label, columns: [`o${i}`] };
  });

  // Hidden columns after the outputs: whether the row's values of each log are verified.
  const verification = logs.map((log, i) => {
    const flag = sql`p.${id(`u${i}`)}`;
    selected.push(sql`${analyzed.aggregated ? sql`bool_and(${flag})` : flag} as ${id(`f${i}`)}`);
    return { name: log.name, column: `f${i}` };
  });

  const groupBy = analyzed.query.groupBy.flatMap((e, i) => {
    const alias = lateral[i] ?? null;
    return alias === null ? emitter.emitColumns(e) : [sql`${id(alias)}.g`];
  });
  const defaultOrder = analyzed.aggregated ? groupBy : rowOrder(dims.map(dimAlias), logs.length);
  const orderBy =
    analyzed.query.orderBy.length === 0
      ? defaultOrder
      : analyzed.query.orderBy.flatMap((item) => {
          const direction = item.direction === "desc" ? sql` desc` : sql``;
          const alias = analyzed.orderAliases.get(item);
          const keys = alias !== undefined ? outputs[alias]!.columns.map((c) => sql`${id(c)}`) : emitter.emitColumns(item.expression);
          return keys.map((key) => sql`${key}${direction}`);
        });
  const limit = analyzed.query.limit;
  const query = sql<Record<string, unknown>>`select ${sql.join(selected)} from ${from}${sql.join([...argJoins, ...lateralJoins], sql``)}
    where ${sql.join(conditions, sql` and `)}${groupBy.length > 0 ? sql` group by ${sql.join(groupBy)}` : sql``}${orderBy.length > 0 ? sql` order by ${sql.join(orderBy)}` : sql``}${limit === null ? sql`` : sql` limit ${limit.count}`}${limit?.offset ? sql` offset ${limit.offset}` : sql``}`;
  return { query, outputs, verification, path };
}

/** A WHERE conjunct that compares a loop's iteration index with number literals. */
interface DimensionFilter {
  dim: string;
  conjunct: Expression;
  /** The conjunct on one index. */
  test: (column: RawBuilder<unknown>) => RawBuilder<unknown>;
  /** Whether some index from `low` to `high` passes `test`: true for a range of iterations that can match. */
  overlaps: (low: RawBuilder<unknown>, high: RawBuilder<unknown>) => RawBuilder<unknown>;
}

/**
 * Whether a stored range (alias `range`) can hold a context that passes `filter`: its own loop's
 * iterations overlap what the filter allows, or its enclosing loops' index passes it. Written as plain
 * comparisons of its columns so that the planner can estimate how few ranges match.
 */
function rangeCanMatch(range: string, filter: DimensionFilter): RawBuilder<unknown> {
  const column = (name: string) => sql.id(range, name);
  const low = sql`${column("iteration")}`;
  const high = sql`(${column("iteration")} + ${column("count")} - 1)`;
  return sql`((${column("name")} = ${filter.dim} and ${filter.overlaps(low, high)})
    or (${column("name")} <> ${filter.dim} and ${filter.test(sql`(${column("outer_dims")} ->> ${filter.dim})::int`)}))`;
}

/** The top-level AND conjuncts of WHERE that compare a loop's iteration index with number literals. */
function loopDimensionFilters(analyzed: AnalyzedQuery): DimensionFilter[] {
  const where = analyzed.query.where;
  if (where === null) return [];
  const conjuncts = where.kind === "and" ? where.operands : [where];
  const dimOf = (e: Expression): string | null => {
    if (e.kind !== "name") return null;
    const meaning = analyzed.resolved.get(e);
    return meaning?.kind === "loop" && meaning.valueOf === null ? e.name : null;
  };
  const number = (e: Expression): number | null => (e.kind === "number" ? e.value : null);
  const filters: DimensionFilter[] = [];
  const literal = (value: number) => (Number.isInteger(value) ? sql`${value}::int` : sql`${value}::float8`);
  const flipped: Record<string, string> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "<>" };
  for (const c of conjuncts) {
    if (c.kind === "comparison") {
      const [dim, value, operator] =
        dimOf(c.left) !== null && number(c.right) !== null
          ? [dimOf(c.left)!, number(c.right)!, c.operator === "!=" ? "<>" : c.operator]
          : dimOf(c.right) !== null && number(c.left) !== null
            ? [dimOf(c.right)!, number(c.left)!, flipped[c.operator]!]
            : [null, null, null];
      if (dim === null) continue;
      const v = literal(value!);
      const overlaps = (low: RawBuilder<unknown>, high: RawBuilder<unknown>): RawBuilder<unknown> => {
        switch (operator) {
          case "=":
            return sql`${low} <= ${v} and ${high} >= ${v}`;
          case "<>":
            return sql`(${low} <> ${v} or ${high} <> ${v})`;
          case "<":
          case "<=":
            return sql`${low} ${sql.raw(operator)} ${v}`;
          default:
            return sql`${high} ${sql.raw(operator!)} ${v}`;
        }
      };
      filters.push({ dim, conjunct: c, test: (column) => sql`${column} ${sql.raw(operator!)} ${v}`, overlaps });
    } else if (c.kind === "in" && !c.negated && dimOf(c.operand) !== null && c.list.every((e) => number(e) !== null)) {
      const values = c.list.map((e) => number(e)!);
      filters.push({
        dim: dimOf(c.operand)!,
        conjunct: c,
        test: (column) => sql`${column} = any(${values}::float8[])`,
        overlaps: (low, high) => sql`exists (select 1 from unnest(${values}::float8[]) as x where x between ${low} and ${high})`,
      });
    } else if (c.kind === "between" && !c.negated && dimOf(c.operand) !== null && number(c.low) !== null && number(c.high) !== null) {
      const [low, high] = [literal(number(c.low)!), literal(number(c.high)!)];
      filters.push({
        dim: dimOf(c.operand)!,
        conjunct: c,
        test: (column) => sql`${column} between ${low} and ${high}`,
        overlaps: (first, last) => sql`${first} <= ${high} and ${last} >= ${low}`,
      });
    }
  }
  return filters;
}

/** Whether `expression` has a literal that is a bound parameter (NULL is written as it is). */
function hasParameter(expression: Expression): boolean {
  return (
    expression.kind === "number" ||
    expression.kind === "string" ||
    expression.kind === "boolean" ||
    expression.kind === "timestamp" ||
    childrenOf(expression).some(hasParameter)
  );
}

class Emitter {
  constructor(
    private readonly analyzed: AnalyzedQuery,
    private readonly logIndex: Map<string, number>,
    private readonly argIndex: Map<string, number>,
    private readonly dimAlias: (key: string) => string,
    /** GROUP BY items computed in a LATERAL subquery: its alias, by the item's index. */
    private readonly lateral: readonly (string | null)[],
    /** Aggregates combine the relation's per-stream partial aggregates (the fast path). */
    private readonly combining: boolean,
  ) {}

  private meaning(ref: NameRef): Resolved {
    return this.analyzed.resolved.get(ref)!;
  }

  private type(expression: Expression): ValueType {
    return this.analyzed.types.of(expression).type;
  }

  /** `expression` as its context reads it (its type's `as`). */
  emit(expression: Expression): RawBuilder<unknown> {
    const { type, as } = this.analyzed.types.of(expression);
    const item = this.analyzed.grouping.get(expression);
    const lateral = item === undefined ? null : (this.lateral[item] ?? null);
    if (lateral !== null) return convert(sql`${id(lateral)}.g`, type, as);
    switch (expression.kind) {
      case "name":
        return this.name(expression, as);
      case "number":
        return as === "string" ? sql`${String(expression.value)}::text` : sql`${expression.value}::float8`;
      case "string":
        // Compared with a timestamp: the instant it means (no zone is UTC, as in TIMESTAMP literals), checked by typecheck.
        return as === "timestamp"
          ? sql`${parseTimestamp(expression.value) ?? expression.value}::timestamptz`
          : sql`${expression.value}::text`;
      case "boolean":
        return sql`${expression.value}::boolean`;
      case "null":
        return typedNull(as);
      case "timestamp":
        return as === "string" ? sql`${expression.value}::text` : sql`${expression.value}::timestamptz`;
      case "negate":
        return convert(sql`(- ${this.emit(expression.operand)})`, type, as);
      case "arithmetic":
        return convert(this.arithmetic(expression), type, as);
      case "not":
        return sql`(not ${this.emit(expression.operand)})`;
      case "and":
      case "or":
        return sql`(${sql.join(
          expression.operands.map((o) => this.emit(o)),
          expression.kind === "and" ? sql` and ` : sql` or `,
        )})`;
      case "comparison": {
        const operator = expression.operator === "!=" ? "<>" : expression.operator;
        return sql`(${this.comparable(expression.left)} ${sql.raw(operator)} ${this.comparable(expression.right)})`;
      }
      case "in":
        return sql`(${this.comparable(expression.operand)}${expression.negated ? sql` not` : sql``} in (${sql.join(expression.list.map((e) => this.comparable(e)))}))`;
      case "between":
        return sql`(${this.comparable(expression.operand)}${expression.negated ? sql` not` : sql``} between ${this.comparable(expression.low)} and ${this.comparable(expression.high)})`;
      case "like":
        return sql`(${this.emit(expression.operand)}${expression.negated ? sql` not` : sql``} like ${this.emit(expression.pattern)})`;
      case "is-null": {
        const operand = expression.operand;
        const test = this.type(operand) === "json" ? this.isNullJson(operand) : sql`(${this.emit(operand)} is null)`;
        return expression.negated ? sql`(not ${test})` : test;
      }
      case "aggregate":
        return convert(this.aggregate(expression), type, as);
      default:
        return unreachable(expression);
    }
  }

  private arithmetic(expression: Arithmetic): RawBuilder<unknown> {
    const left = this.emit(expression.left);
    const right = this.emit(expression.right);
    switch (expression.operator) {
      // Division by zero is NULL, as in the evaluator, instead of an error that aborts the query.
      case "/":
        return sql`(${left} / nullif(${right}, 0))`;
      case "%":
        return sql`(mod(${left}::numeric, nullif(${right}, 0)::numeric)::float8)`;
      case "+":
      case "-":
      case "*":
        return sql`(${left} ${sql.raw(expression.operator)} ${right})`;
      default:
        return unreachable(expression.operator);
    }
  }

  /** A comparison operand; strings compare by code point (COLLATE "C"), as the pushdown evaluator does. */
  private comparable(expression: Expression): RawBuilder<unknown> {
    const emitted = this.emit(expression);
    return this.analyzed.types.of(expression).as === "string" ? sql`(${emitted} collate "C")` : emitted;
  }

  /** JSON-typed values: a log's number and JSON parts, an arg's JSON, a loop item's JSON. */
  private emitPair(expression: Expression): [RawBuilder<unknown>, RawBuilder<unknown>] {
    if (expression.kind !== "name") return [this.emit(expression), sql`null::jsonb`];
    const meaning = this.meaning(expression);
    if (meaning.kind === "log") {
      const i = this.logIndex.get(meaning.name)!;
      return [sql`p.${id(`n${i}`)}`, sql`p.${id(`v${i}`)}`];
    }
    return [sql`null::float8`, this.json(expression)];
  }

  /** An output, or an ORDER BY / GROUP BY key: one column, or both parts of a JSON-typed value. */
  emitColumns(expression: Expression): RawBuilder<unknown>[] {
    return this.type(expression) === "json" ? this.emitPair(expression) : [this.emit(expression)];
  }

  private json(ref: NameRef): RawBuilder<unknown> {
    const meaning = this.meaning(ref);
    if (meaning.kind === "arg") return sql`${id(`a${this.argIndex.get(meaning.name)!}`)}.value`;
    if (meaning.kind === "loop") return sql`p.${id(this.dimAlias(ref.name))}`;
    const i = this.logIndex.get(meaning.name)!;
    return sql`p.${id(`v${i}`)}`;
  }

  private name(ref: NameRef, as: ValueType): RawBuilder<unknown> {
    const meaning = this.meaning(ref);
    switch (meaning.kind) {
      case "run":
        if (meaning.name === "projid") return sql`(select projid from ${table("projects")} where id = r.project_id)`;
        return meaning.name === "tstamp" && as === "string" ? isoText(sql`r.tstamp`) : sql`r.${id(meaning.name)}`;
      case "loop":
        if (meaning.valueOf === null)
          return as === "string" ? sql`p.${id(this.dimAlias(ref.name))}::text` : sql`p.${id(this.dimAlias(ref.name))}`;
        return this.jsonAs(ref, meaning, as);
      case "arg":
      case "log":
        return this.jsonAs(ref, meaning, as);
      case "verified":
        return sql`p.${id(`u${this.logIndex.get(meaning.name)!}`)}`;
      default:
        return unreachable(meaning);
    }
  }

  /** A JSON-typed value as one SQL type: NULL where the row's value is of another type. */
  private jsonAs(ref: NameRef, meaning: Resolved, as: ValueType): RawBuilder<unknown> {
    const json = this.json(ref);
    switch (as) {
      case "string":
        return sql`(case when jsonb_typeof(${json}) = 'string' then ${json} #>> '{}' end)`;
      case "boolean":
        return sql`(case when jsonb_typeof(${json}) = 'boolean' then (${json} #>> '{}')::boolean end)`;
      case "timestamp":
        return sql`null::timestamptz`;
      case "number": {
        const fromJson = sql`(case when jsonb_typeof(${json}) = 'number' then (${json} #>> '{}')::float8 end)`;
        return meaning.kind === "log" ? sql`coalesce(${sql`p.${id(`n${this.logIndex.get(meaning.name)!}`)}`}, ${fromJson})` : fromJson;
      }
      // Read as itself only where both parts are taken (emitPair); alone, its JSON part.
      case "json":
      case "null":
        return json;
      default:
        return unreachable(as);
    }
  }

  private isNullJson(ref: Expression): RawBuilder<unknown> {
    const [num, json] = this.emitPair(ref);
    return sql`(${num} is null and (${json} is null or ${json} = 'null'::jsonb))`;
  }

  private aggregate(expression: Aggregate): RawBuilder<unknown> {
    if (this.combining) return this.combined(expression);
    const argument = expression.argument;
    if (argument === null) return sql`count(*)::float8`;
    const distinct = expression.distinct ? sql`distinct ` : sql``;
    switch (expression.function) {
      case "count": {
        // COUNT(DISTINCT x) of a JSON-typed value counts distinct JSON (numbers included, as JSON); COUNT(x)
        // only needs to know which rows have one.
        const present =
          this.type(argument) !== "json"
            ? this.emit(argument)
            : expression.distinct
              ? sql`(case when not ${this.isNullJson(argument)} then coalesce(${this.emitPair(argument)[1]}, to_jsonb(${this.emitPair(argument)[0]}::text)) end)`
              : sql`(case when not ${this.isNullJson(argument)} then 1 end)`;
        return sql`count(${distinct}${present})::float8`;
      }
      case "avg":
        return sql`avg(${distinct}${this.emit(argument)})`;
      case "sum":
        return sql`sum(${distinct}${this.emit(argument)})`;
      case "min":
        return sql`min(${this.emit(argument)})`;
      case "max":
        return sql`max(${this.emit(argument)})`;
      case "first":
      case "last": {
        // first/last in the pivot's row order (run time, run, loop dimensions), skipping NULLs.
        const value = this.emit(argument);
        const order = sql.join(rowOrder(this.analyzed.dims.map(this.dimAlias), this.analyzed.logs.length));
        const array = sql`array_agg(${value} order by ${order}) filter (where ${value} is not null)`;
        return expression.function === "first" ? sql`(${array})[1]` : sql`(${array})[array_length(${array}, 1)]`;
      }
      default:
        return unreachable(expression.function);
    }
  }
  /**
   * An aggregate of the one log name from the relation's partial aggregates (see aggregatePath): counts
   * add up, and an average is the sum over the count of numbers, as PostgreSQL's avg of float8 is. A
   * float sum added in another order can differ in its last bits from a sum over the values in scan
   * order (which is itself no more exact).
   */
  private combined(expression: Aggregate): RawBuilder<unknown> {
    const column = (letter: string) => sql`p.${id(`${letter}0`)}`;
    if (expression.argument === null) return sql`coalesce(sum(${column("c")}), 0)::float8`;
    switch (expression.function) {
      case "count":
        return sql`coalesce(sum(${column("k")}), 0)::float8`;
      case "sum":
        return sql`sum(${column("s")})`;
      case "avg":
        return sql`(sum(${column("s")}) / nullif(sum(${column("m")}), 0)::float8)`;
      case "min":
        return sql`min(${column("l")})`;
      case "max":
        return sql`max(${column("h")})`;
      default:
        throw new Error(`${expression.function} does not combine partial aggregates`);
    }
  }
}

/** The pivot's row order: run time, run, loop dimensions, then the logging order of each name's value. */
function rowOrder(dimAliases: readonly string[], logCount: number): RawBuilder<unknown>[] {
  const values = Array.from({ length: logCount }, (_, i) => sql`p.${id(`q${i}`)}`);
  return [sql`r.tstamp`, sql`r.id`, ...dimAliases.map((alias) => sql`p.${id(alias)}`), ...values];
}

/** A value of type `type` read as `as`: numbers and timestamps as text (LIKE); other readings need nothing. */
function convert(value: RawBuilder<unknown>, type: ValueType, as: ValueType): RawBuilder<unknown> {
  if (as !== "string" || type === "string") return value;
  if (type === "number") return sql`(${value})::text`;
  if (type === "timestamp") return isoText(value);
  return value;
}

/** A timestamp as the ISO-8601 text FlorQL prints it in. */
function isoText(value: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`to_char(${value} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** NULL with the type its context reads it as, which PostgreSQL cannot infer in arithmetic, aggregates or sort keys. */
function typedNull(as: ValueType): RawBuilder<unknown> {
  switch (as) {
    case "number":
      return sql`null::float8`;
    case "string":
      return sql`null::text`;
    case "boolean":
      return sql`null::boolean`;
    case "timestamp":
      return sql`null::timestamptz`;
    case "json":
    case "null":
      return sql`null`;
    default:
      return unreachable(as);
  }
}
