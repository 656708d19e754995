// Protection against operations that would cost the server far more than they cost the client to send:
// deep nesting, many aliases, huge documents, large estimated result sizes, and slow execution.
import type { Plugin } from "graphql-yoga";
import {
  GraphQLError,
  Kind,
  Lexer,
  parse,
  Source,
  TokenKind,
  validate,
  type ASTNode,
  type ASTVisitor,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql/index.js";
import { createComplexityRule } from "@pothos/plugin-complexity";
import { FlorUsageError } from "../errors.js";
import type { FlorContext } from "./builder.js";

/** Operations nested deeper than this many selection levels are refused (code QUERY_TOO_DEEP). */
export const MAX_DEPTH = 12;
/** Operations with more aliased fields than this, fragments counted each time they are spread, are refused (QUERY_TOO_MANY_ALIASES). */
export const MAX_ALIASES = 30;
/** Documents of more lexical tokens than this are refused before they are parsed further (QUERY_TOO_LARGE). */
export const MAX_TOKENS = 2000;
/** Request bodies larger than this are refused with HTTP 413 before they are parsed. */
export const MAX_BODY_BYTES = 1_000_000;
/** The estimated cost (see `costLimit`) above which an operation is refused (QUERY_TOO_COSTLY). */
export const MAX_COST = 5000;
/** Queries and mutations still running after this long are answered with REQUEST_TIMEOUT. */
export const DEFAULT_TIMEOUT_SECONDS = 30;

function refusal(message: string, code: string, nodes?: ASTNode, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { ...(nodes === undefined ? {} : { nodes }), extensions: { code, ...extensions } });
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  return new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
}

/**
 * A measure of a selection set that adds or maxes over its selections, each fragment measured once: a
 * document that spreads fragments into fragments would otherwise take exponential time to measure.
 * A fragment being measured counts 0 where it is spread into itself (a cycle other rules refuse).
 */
function measure(
  fragments: Map<string, FragmentDefinitionNode>,
  ofField: (field: FieldNode, inner: (set: SelectionSetNode) => number) => number,
  combine: (values: number[]) => number,
) {
  const memo = new Map<string, number>();
  const inner = (set: SelectionSetNode): number =>
    combine(
      set.selections.map((selection) => {
        if (selection.kind === Kind.FIELD) return ofField(selection, inner);
        if (selection.kind === Kind.INLINE_FRAGMENT) return inner(selection.selectionSet);
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment === undefined) return 0;
        if (!memo.has(name)) {
          memo.set(name, 0);
          memo.set(name, inner(fragment.selectionSet));
        }
        return memo.get(name)!;
      }),
    );
  return inner;
}

/** A validation rule refusing operations whose selections nest deeper than `max` (fragments followed, `ofType` not counted). */
export function depthLimitRule(max: number) {
  return (context: ValidationContext): ASTVisitor => {
    // Introspection's `ofType` unwraps a type's list and non-null wrappers, a chain that ends within a few
    // levels; GraphiQL follows it 7 deep, which would otherwise put its schema query over the limit.
    const depth = measure(
      fragmentsOf(context.getDocument()),
      (field, inner) => (field.name.value === "ofType" ? 0 : 1) + (field.selectionSet === undefined ? 0 : inner(field.selectionSet)),
      (values) => Math.max(0, ...values),
    );
    return {
      OperationDefinition(operation) {
        const levels = depth(operation.selectionSet);
        if (levels > max)
          context.reportError(
            refusal(`the operation nests ${levels} levels deep; at most ${max} are allowed`, "QUERY_TOO_DEEP", operation),
          );
      },
    };
  };
}

/** A validation rule refusing operations with more than `max` aliased fields, a fragment counted at each spread. */
export function aliasLimitRule(max: number) {
  return (context: ValidationContext): ASTVisitor => {
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const aliases = measure(
      fragmentsOf(context.getDocument()),
      (field, inner) => (field.alias === undefined ? 0 : 1) + (field.selectionSet === undefined ? 0 : inner(field.selectionSet)),
      sum,
    );
    return {
      OperationDefinition(operation) {
        const count = aliases(operation.selectionSet);
        if (count > max)
          context.reportError(
            refusal(`the operation has ${count} aliased fields; at most ${max} are allowed`, "QUERY_TOO_MANY_ALIASES", operation),
          );
      },
    };
  };
}

/** Fields that plan a FlorQL query or a replay: propagation into each version in scope, then planning. */
export const PLANNING_COST = 1000;
/** Fields that read from git (the versions, a version's file, a diff): child processes per request. */
export const GIT_COST = 200;
/** A replay job's stored plan: one JSON document as large as the runs in its scope. */
export const STORED_PLAN_COST = 100;

/**
 * The `complexity` of a connection field: its selections count once per item of the page it returns
 * (`first`, else the default size, at most the cap; the resolver refuses a page over the cap itself).
 */
export function pageCost(defaultSize: number, cap: number) {
  return ({ first }: { first?: number | null }) => {
    const size = typeof first === "number" && Number.isInteger(first) && first >= 0 ? Math.min(first, cap) : defaultSize;
    return { field: 1, multiplier: size };
  };
}

/**
 * Refuses operations whose estimated cost is above `budget`, before they run. The estimate is the
 * complexity plugin's, from the costs fields declare (`complexity`; 1 by default, lists counting 10
 * items, connections their page size), with the request's variables. Introspection fields cost 1: they
 * are answered from the schema in memory, whose size bounds them.
 */
export function costLimit(budget: number): Plugin {
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: ExecutionArgs;
    setResultAndStopExecution: (result: ExecutionResult) => void;
  }) => {
    let refused: GraphQLError | null = null;
    const rule = createComplexityRule({
      context: args.contextValue as object,
      variableValues: (args.variableValues ?? {}) as Record<string, unknown>,
      operationName: args.operationName ?? null,
      validate: ({ complexity }) => {
        if (complexity > budget)
          refused = refusal(
            `the operation's estimated cost is ${complexity}; at most ${budget} is allowed (ask for smaller pages or fewer fields)`,
            "QUERY_TOO_COSTLY",
            undefined,
            { cost: complexity, budget },
          );
      },
    });
    // Invalid variables are left to execution, which says what is wrong with them.
    validate(args.schema, args.document, [rule]);
    if (refused !== null) setResultAndStopExecution({ errors: [refused] });
  };
  return { onExecute: check, onSubscribe: check };
}

/** Validation rules for depth and aliases, and a token limit for parsing. */
export function documentLimits(): Plugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parse(source, { ...options, maxTokens: MAX_TOKENS });
        } catch (error) {
          // Lexing again happens only for documents that failed to parse, to tell the limit from other syntax errors.
          if (error instanceof GraphQLError && tokensUpTo(source, MAX_TOKENS + 1) > MAX_TOKENS) {
            throw refusal(`the document has more than ${MAX_TOKENS} tokens; at most ${MAX_TOKENS} are allowed`, "QUERY_TOO_LARGE");
          }
          throw error;
        }
      });
    },
    onValidate({ addValidationRule }) {
      addValidationRule(depthLimitRule(MAX_DEPTH));
      addValidationRule(aliasLimitRule(MAX_ALIASES));
    },
  };
}

function tokensUpTo(source: string | Source, limit: number): number {
  const lexer = new Lexer(typeof source === "string" ? new Source(source) : source);
  let count = 0;
  try {
    while (count < limit && lexer.advance().kind !== TokenKind.EOF) count++;
  } catch {
    // A lexical error ends the count where it is.
  }
  return count;
}

/**
 * Answers queries and mutations that run longer than `seconds` with a REQUEST_TIMEOUT error, on time, and
 * aborts their execution: no further fields are resolved, and heavy fields still waiting for a slot never
 * start (see heavy-work.ts). Work a resolver already started, such as a SQL statement or a git process,
 * finishes in the background. A client that goes away aborts the same way. Subscriptions are long-lived
 * by design and not limited.
 */
export function requestTimeout(seconds: number): Plugin<Partial<FlorContext>> {
  return {
    onExecute({ args, executeFn, setExecuteFn, extendContext }) {
      const controller = new AbortController();
      const request = (args.contextValue as { request?: Request }).request;
      const signal = request === undefined ? controller.signal : AbortSignal.any([controller.signal, request.signal]);
      extendContext({ signal });
      setExecuteFn((args) => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<ExecutionResult>((resolve) => {
          timer = setTimeout(() => {
            const error = refusal(`the operation did not finish within ${seconds} s`, "REQUEST_TIMEOUT", undefined, { seconds });
            controller.abort(error);
            resolve({ data: null, errors: [error] });
          }, seconds * 1000);
        });
        // yoga's executor stops resolving fields once the signal is aborted.
        const withSignal: ExecutionArgs & { signal: AbortSignal } = { ...args, signal };
        return Promise.race([Promise.resolve(executeFn(withSignal)), timedOut]).finally(() => clearTimeout(timer));
      });
    },
  };
}

/** The request timeout in seconds: FLOR_GRAPHQL_TIMEOUT_SECONDS when set, else DEFAULT_TIMEOUT_SECONDS. */
export function configuredTimeoutSeconds(): number {
  const raw = process.env["FLOR_GRAPHQL_TIMEOUT_SECONDS"];
  if (raw === undefined || raw.trim() === "") return DEFAULT_TIMEOUT_SECONDS;
  return checkedTimeout(Number(raw), `FLOR_GRAPHQL_TIMEOUT_SECONDS=${raw}`);
}

export function checkedTimeout(seconds: number, what = `timeoutSeconds ${seconds}`): number {
  // setTimeout wraps around above 2^31 - 1 ms (about 24.8 days) and would fire at once.
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds * 1000 > 2 ** 31 - 1)
    throw new FlorUsageError(`${what}: the GraphQL request timeout must be a positive number of seconds, at most 2147483`);
  return seconds;
}
