import { sql, type RawBuilder } from "kysely";
import type { Expression, NameRef } from "./ast.js";
import type { AnalyzedQuery, Resolved } from "./analyze.js";
import { STORE_SCHEMA } from "../store/schema.js";
import { FlorQLError, FlorQLErrorCodes } from "./florql-error.js";
import { printExpression } from "./print.js";

/** The SQL type an expression is emitted as. `json`: a value whose type is only known per row (logs, args, item values). */
type SqlType = "num" | "text" | "bool" | "ts" | "json" | "null";

/** A compiled output column: one SQL column, or for a JSON-typed value its number and JSON parts. */
export interface OutputColumn {
  label: string;
  columns: string[];
}

export interface CompiledQuery {
  query: RawBuilder<Record<string, unknown>>;
  outputs: OutputColumn[];
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
): CompiledQuery {
  const { logs, dims, args } = analyzed;
  const dimAlias = (key: string) => `d${dims.indexOf(key)}`;
  const logIndex = new Map(logs.map((log, i) => [log.name, i]));
  const argIndex = new Map(args.map((name, i) => [name, i]));
  const scope = runIds === null ? sql`` : sql` and lg.run_id = any(${[...runIds]}::int[])`;
  // The same scope on the loops side of the (left) join, so only the runs in scope are read there too.
  const loopScope = runIds === null ? sql`` : sql` and lp.run_id = any(${[...runIds]}::int[])`;

  const pushed = loopDimensionFilters(analyzed);
  // A loop index: the context's own iteration when it is that loop's (no JSON to read), else its `dims`.
  const index = (key: string) => sql`(case when lp.name = ${key} then lp.iteration else (lp.dims ->> ${key})::int end)`;
  const relations = logs.map((log, i) => {
    // A WHERE conjunct on a loop dimension filters every relation that carries it, so far fewer rows
    // reach the joins; the outer WHERE then only has to drop rows without that dimension.
    // `lp.ctx_id is not null` lets PostgreSQL treat the loops join as an inner one and filter while scanning loops.
    const filters = pushed.filter((f) => log.dims.includes(f.dim)).map((f) => sql` and lp.ctx_id is not null and ${f.test(index(f.dim))}`);
    const dimColumns = log.dims.map((key) =>
      key.endsWith("_value") && !isLoopIndex(key, log.dims)
        ? sql`lp.dims -> ${key} as ${id(dimAlias(key))}`
        : sql`${index(key)} as ${id(dimAlias(key))}`,
    );
    const values = sql`select lg.run_id, ${sql.join([...dimColumns, sql`lg.num as ${id(`n${i}`)}`, sql`lg.value as ${id(`v${i}`)}`])}
      from ${table("logs")} lg left join ${table("loops")} lp on lp.run_id = lg.run_id and lp.ctx_id = lg.ctx_id${loopScope}
      where lg.name = ${log.name}${scope}${sql.join(filters, sql``)}`;
    // Runs that never logged the name (replay has not filled it, or cannot) still get its rows, empty:
    // one per iteration of the loop the statement is in, or one per run outside loops.
    const missing = lacking.get(log.name) ?? [];
    if (missing.length === 0) return values;
    const innermost = [...log.dims].reverse().find((key) => !key.endsWith("_value") || isLoopIndex(key, log.dims));
    const empty = sql`null::float8 as ${id(`n${i}`)}, null::jsonb as ${id(`v${i}`)}`;
    // A run replay filled in part (some iterations) has values for those: the skeleton skips them.
    const skeleton =
      innermost === undefined
        ? sql`select r.id as run_id, ${empty} from ${table("runs")} r where r.id = any(${[...missing]}::int[])
          and not exists (select 1 from ${table("logs")} lg where lg.name = ${log.name} and lg.run_id = r.id)`
        : sql`select lp.run_id, ${sql.join([...dimColumns, empty])} from ${table("loops")} lp
          where lp.name = ${innermost} and lp.run_id = any(${[...missing]}::int[])${sql.join(filters, sql``)}
          and not exists (select 1 from ${table("logs")} lg where lg.name = ${log.name} and lg.run_id = lp.run_id and lg.ctx_id = lp.ctx_id)`;
    return sql`${values} union all ${skeleton}`;
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

  const emitter = new Emitter(analyzed, logIndex, argIndex, dimAlias);
  const conditions = [sql`r.project_id = (select id from ${table("projects")} where projid = ${projid})`];
  if (runIds !== null) conditions.push(sql`r.id = any(${[...runIds]}::int[])`);
  if (analyzed.filename !== null) conditions.push(sql`r.filename = ${analyzed.filename}`);
  const where = analyzed.query.where;
  if (where !== null) {
    for (const conjunct of where.kind === "and" ? where.operands : [where]) {
      const filter = pushed.find((f) => f.conjunct === conjunct);
      conditions.push(
        filter === undefined
          ? sql`coalesce(${emitter.emit(conjunct, "bool")}, false)`
          : relations.length > 0
            ? sql`p.${id(dimAlias(filter.dim))} is not null`
            : sql`false`,
      );
    }
  }

  const selected: RawBuilder<unknown>[] = [];
  const outputs: OutputColumn[] = analyzed.outputs.map((output, i) => {
    const type = emitter.typeOf(output.expression);
    if (type === "json") {
      const [num, json] = emitter.emitPair(output.expression);
      selected.push(sql`${num} as ${id(`o${i}n`)}`, sql`${json} as ${id(`o${i}v`)}`);
      return { label: output.label, columns: [`o${i}n`, `o${i}v`] };
    }
    selected.push(sql`${emitter.emit(output.expression, type)} as ${id(`o${i}`)}`);
    return { label: output.label, columns: [`o${i}`] };
  });

  const groupBy = analyzed.query.groupBy.flatMap((e) => emitter.emitSortable(e));
  const defaultOrder = analyzed.aggregated ? groupBy : [sql`r.tstamp`, sql`r.id`, ...dims.map((key) => sql`p.${id(dimAlias(key))}`)];
  const orderBy =
    analyzed.query.orderBy.length === 0
      ? defaultOrder
      : analyzed.query.orderBy.flatMap((item) => {
          const direction = item.direction === "desc" ? sql` desc` : sql``;
          const alias = analyzed.orderAliases.get(item);
          const keys = alias !== undefined ? outputs[alias]!.columns.map((c) => sql`${id(c)}`) : emitter.emitSortable(item.expression);
          return keys.map((key) => sql`${key}${direction}`);
        });
  const limit = analyzed.query.limit;
  const query = sql<Record<string, unknown>>`select ${sql.join(selected)} from ${from}${sql.join(argJoins, sql``)}
    where ${sql.join(conditions, sql` and `)}${groupBy.length > 0 ? sql` group by ${sql.join(groupBy)}` : sql``}${orderBy.length > 0 ? sql` order by ${sql.join(orderBy)}` : sql``}${limit === null ? sql`` : sql` limit ${limit.count}`}${limit?.offset ? sql` offset ${limit.offset}` : sql``}`;
  return { query, outputs };
}

/** The top-level AND conjuncts of WHERE that compare a loop's iteration index with number literals. */
function loopDimensionFilters(
  analyzed: AnalyzedQuery,
): { dim: string; conjunct: Expression; test: (column: RawBuilder<unknown>) => RawBuilder<unknown> }[] {
  const where = analyzed.query.where;
  if (where === null) return [];
  const conjuncts = where.kind === "and" ? where.operands : [where];
  const dimOf = (e: Expression): string | null => {
    if (e.kind !== "name") return null;
    const meaning = analyzed.resolved.get(e);
    return meaning?.kind === "loop" && meaning.valueOf === null ? e.name : null;
  };
  const number = (e: Expression): number | null => (e.kind === "number" ? e.value : null);
  const filters: { dim: string; conjunct: Expression; test: (column: RawBuilder<unknown>) => RawBuilder<unknown> }[] = [];
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
      if (dim !== null) filters.push({ dim, conjunct: c, test: (column) => sql`${column} ${sql.raw(operator!)} ${literal(value!)}` });
    } else if (c.kind === "in" && !c.negated && dimOf(c.operand) !== null && c.list.every((e) => number(e) !== null)) {
      const values = c.list.map((e) => number(e)!);
      filters.push({ dim: dimOf(c.operand)!, conjunct: c, test: (column) => sql`${column} = any(${values}::float8[])` });
    } else if (c.kind === "between" && !c.negated && dimOf(c.operand) !== null && number(c.low) !== null && number(c.high) !== null) {
      const [low, high] = [number(c.low)!, number(c.high)!];
      filters.push({ dim: dimOf(c.operand)!, conjunct: c, test: (column) => sql`${column} between ${literal(low)} and ${literal(high)}` });
    }
  }
  return filters;
}

/** `epoch_value` is an item value when `epoch` is a loop of the same value; a loop literally named `x_value` is an index. */
function isLoopIndex(key: string, dims: readonly string[]): boolean {
  return !dims.includes(key.slice(0, -6));
}

class Emitter {
  constructor(
    private readonly analyzed: AnalyzedQuery,
    private readonly logIndex: Map<string, number>,
    private readonly argIndex: Map<string, number>,
    private readonly dimAlias: (key: string) => string,
  ) {}

  private meaning(ref: NameRef): Resolved {
    return this.analyzed.resolved.get(ref)!;
  }

  typeOf(expression: Expression): SqlType {
    switch (expression.kind) {
      case "name": {
        const meaning = this.meaning(expression);
        if (meaning.kind === "run") return meaning.name === "tstamp" ? "ts" : "text";
        if (meaning.kind === "loop") return meaning.valueOf === null ? "num" : "json";
        return "json";
      }
      case "number":
      case "negate":
      case "arithmetic":
        return "num";
      case "string":
        return "text";
      case "boolean":
        return "bool";
      case "null":
        return "null";
      case "timestamp":
        return "ts";
      case "aggregate": {
        if (expression.function === "count" || expression.function === "avg" || expression.function === "sum") return "num";
        const inner = expression.argument === null ? "num" : this.typeOf(expression.argument);
        return inner === "json" || inner === "null" ? "num" : inner;
      }
      default:
        return "bool";
    }
  }

  /**
   * The common type operands are compared as: a typed side decides; JSON values (known only per row)
   * compare as numbers. Two different known types cannot be compared: a type error, not a SQL error.
   */
  private common(operands: readonly Expression[]): SqlType {
    const typed = operands.map((e) => [e, this.typeOf(e)] as const).filter(([, t]) => t !== "json" && t !== "null");
    const first = typed[0];
    if (first === undefined) return "num";
    const clash = typed.find(([, t]) => t !== first[1] && !(first[1] === "ts" && t === "text") && !(first[1] === "text" && t === "ts"));
    if (clash !== undefined) {
      const words: Record<SqlType, string> = {
        num: "a number",
        text: "a string",
        bool: "a boolean",
        ts: "a timestamp",
        json: "a value",
        null: "NULL",
      };
      throw new FlorQLError(
        {
          code: FlorQLErrorCodes.typeMismatch,
          message: `cannot compare ${words[first[1]]} with ${words[clash[1]]}`,
          span: clash[0].span,
          hint: `${printExpression(first[0])} is ${words[first[1]]}`,
        },
        this.analyzed.source,
      );
    }
    return first[1] === "text" && typed.some(([, t]) => t === "ts") ? "ts" : first[1];
  }

  emit(expression: Expression, want: SqlType): RawBuilder<unknown> {
    switch (expression.kind) {
      case "name":
        return this.name(expression, want);
      case "number":
        return want === "text" ? sql`${String(expression.value)}::text` : sql`${expression.value}::float8`;
      case "string":
        return want === "ts" ? sql`${expression.value}::timestamptz` : want === "num" ? sql`null::float8` : sql`${expression.value}::text`;
      case "boolean":
        return sql`${expression.value}::boolean`;
      case "null":
        return sql`null`;
      case "timestamp":
        return want === "text" ? sql`${expression.value}::text` : sql`${expression.value}::timestamptz`;
      case "negate":
        return sql`(- ${this.emit(expression.operand, "num")})`;
      case "arithmetic": {
        const left = this.emit(expression.left, "num");
        const right = this.emit(expression.right, "num");
        // Division by zero is NULL, as in the evaluator, instead of an error that aborts the query.
        if (expression.operator === "/") return sql`(${left} / nullif(${right}, 0))`;
        if (expression.operator === "%") return sql`(mod(${left}::numeric, nullif(${right}, 0)::numeric)::float8)`;
        return sql`(${left} ${sql.raw(expression.operator)} ${right})`;
      }
      case "not":
        return sql`(not ${this.emit(expression.operand, "bool")})`;
      case "and":
      case "or":
        return sql`(${sql.join(
          expression.operands.map((o) => this.emit(o, "bool")),
          expression.kind === "and" ? sql` and ` : sql` or `,
        )})`;
      case "comparison": {
        const type = this.common([expression.left, expression.right]);
        const operator = expression.operator === "!=" ? "<>" : expression.operator;
        return sql`(${this.comparable(expression.left, type)} ${sql.raw(operator)} ${this.comparable(expression.right, type)})`;
      }
      case "in": {
        const type = this.common([expression.operand, ...expression.list]);
        return sql`(${this.comparable(expression.operand, type)}${expression.negated ? sql` not` : sql``} in (${sql.join(expression.list.map((e) => this.comparable(e, type)))}))`;
      }
      case "between": {
        const type = this.common([expression.operand, expression.low, expression.high]);
        return sql`(${this.comparable(expression.operand, type)}${expression.negated ? sql` not` : sql``} between ${this.comparable(expression.low, type)} and ${this.comparable(expression.high, type)})`;
      }
      case "like":
        return sql`(${this.emit(expression.operand, "text")}${expression.negated ? sql` not` : sql``} like ${this.emit(expression.pattern, "text")})`;
      case "is-null": {
        const operand = expression.operand;
        const test =
          this.typeOf(operand) === "json" ? this.isNullJson(operand) : sql`(${this.emit(operand, this.typeOf(operand))} is null)`;
        return expression.negated ? sql`(not ${test})` : test;
      }
      case "aggregate":
        return this.aggregate(expression, want);
    }
  }

  /** A comparison operand; strings compare by code point (COLLATE "C"), as the pushdown evaluator does. */
  private comparable(expression: Expression, type: SqlType): RawBuilder<unknown> {
    const emitted = this.emit(expression, type);
    return type === "text" ? sql`(${emitted} collate "C")` : emitted;
  }

  /** JSON-typed values: a log's number and JSON parts, an arg's JSON, a loop item's JSON. */
  emitPair(expression: Expression): [RawBuilder<unknown>, RawBuilder<unknown>] {
    if (expression.kind !== "name") return [this.emit(expression, "num"), sql`null::jsonb`];
    const meaning = this.meaning(expression);
    if (meaning.kind === "log") {
      const i = this.logIndex.get(meaning.name)!;
      return [sql`p.${id(`n${i}`)}`, sql`p.${id(`v${i}`)}`];
    }
    return [sql`null::float8`, this.json(expression)];
  }

  /** ORDER BY / GROUP BY keys: both parts of a JSON-typed value. */
  emitSortable(expression: Expression): RawBuilder<unknown>[] {
    const type = this.typeOf(expression);
    return type === "json" ? this.emitPair(expression) : [this.emit(expression, type)];
  }

  private json(ref: NameRef): RawBuilder<unknown> {
    const meaning = this.meaning(ref);
    if (meaning.kind === "arg") return sql`${id(`a${this.argIndex.get(meaning.name)!}`)}.value`;
    if (meaning.kind === "loop") return sql`p.${id(this.dimAlias(ref.name))}`;
    const i = this.logIndex.get(meaning.name)!;
    return sql`p.${id(`v${i}`)}`;
  }

  private name(ref: NameRef, want: SqlType): RawBuilder<unknown> {
    const meaning = this.meaning(ref);
    if (meaning.kind === "run") {
      if (meaning.name === "projid") return sql`(select projid from ${table("projects")} where id = r.project_id)`;
      return meaning.name === "tstamp" && want === "text"
        ? sql`to_char(r.tstamp at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
        : sql`r.${id(meaning.name)}`;
    }
    if (meaning.kind === "loop" && meaning.valueOf === null)
      return want === "text" ? sql`p.${id(this.dimAlias(ref.name))}::text` : sql`p.${id(this.dimAlias(ref.name))}`;
    const json = this.json(ref);
    const num = meaning.kind === "log" ? sql`p.${id(`n${this.logIndex.get(meaning.name)!}`)}` : null;
    switch (want) {
      case "text":
        return sql`(case when jsonb_typeof(${json}) = 'string' then ${json} #>> '{}' end)`;
      case "bool":
        return sql`(case when jsonb_typeof(${json}) = 'boolean' then (${json} #>> '{}')::boolean end)`;
      case "ts":
        return sql`null::timestamptz`;
      default: {
        const fromJson = sql`(case when jsonb_typeof(${json}) = 'number' then (${json} #>> '{}')::float8 end)`;
        return num === null ? fromJson : sql`coalesce(${num}, ${fromJson})`;
      }
    }
  }

  private isNullJson(ref: Expression): RawBuilder<unknown> {
    if (ref.kind !== "name") return sql`false`;
    const [num, json] = this.emitPair(ref);
    return sql`(${num} is null and (${json} is null or ${json} = 'null'::jsonb))`;
  }

  private aggregate(expression: Extract<Expression, { kind: "aggregate" }>, want: SqlType): RawBuilder<unknown> {
    const argument = expression.argument;
    const distinct = expression.distinct ? sql`distinct ` : sql``;
    if (expression.function === "count") {
      if (argument === null) return sql`count(*)::float8`;
      // COUNT(DISTINCT x) of a JSON-typed value counts distinct JSON (numbers included, as JSON).
      const present =
        this.typeOf(argument) === "json"
          ? sql`(case when not ${this.isNullJson(argument)} then coalesce(${this.emitPair(argument)[1]}, to_jsonb(${this.emitPair(argument)[0]}::text)) end)`
          : this.emit(argument, this.typeOf(argument));
      return sql`count(${distinct}${present})::float8`;
    }
    const inner = this.typeOf(argument!);
    const type = inner === "json" || inner === "null" ? "num" : inner;
    const value = this.emit(argument!, type === "num" && want !== "num" ? "num" : type);
    switch (expression.function) {
      case "avg":
        return sql`avg(${distinct}${this.emit(argument!, "num")})`;
      case "sum":
        return sql`sum(${distinct}${this.emit(argument!, "num")})`;
      case "min":
        return sql`min(${value})`;
      case "max":
        return sql`max(${value})`;
      default: {
        // first/last in the pivot's row order (run time, run, loop dimensions), skipping NULLs.
        const order = sql.join([sql`r.tstamp`, sql`r.id`, ...this.analyzed.dims.map((key) => sql`p.${id(this.dimAlias(key))}`)]);
        const array = sql`array_agg(${value} order by ${order}) filter (where ${value} is not null)`;
        return expression.function === "first" ? sql`(${array})[1]` : sql`(${array})[array_length(${array}, 1)]`;
      }
    }
  }
}
