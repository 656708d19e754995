// Protection against operations that would cost the server far more than they cost the client to send:
// deep nesting, many aliases, huge documents, large estimated result sizes, and slow execution.
import type { Plugin } from "graphql-yoga";
import {
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  Lexer,
  parse,
  Source,
  TokenKind,
  type ASTNode,
  type ASTVisitor,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql/index.js";
import { FlorUsageError } from "../errors.js";
import { MAX_LOG_PAGE_SIZE, MAX_PAGE_SIZE } from "./types/run.js";

/** Operations nested deeper than this many selection levels are refused (code QUERY_TOO_DEEP). */
export const MAX_DEPTH = 12;
/** Operations with more aliased fields than this, fragments counted each time they are spread, are refused (QUERY_TOO_MANY_ALIASES). */
export const MAX_ALIASES = 30;
/** Documents of more lexical tokens than this are refused before they are parsed further (QUERY_TOO_LARGE). */
export const MAX_TOKENS = 2000;
/** Request bodies larger than this are refused with HTTP 413 before they are parsed. */
export const MAX_BODY_BYTES = 1_000_000;
/** The estimated cost (see `operationCost`) above which an operation is refused (QUERY_TOO_COSTLY). */
export const MAX_COST = 5000;
/** The length assumed for a list field that has no page size of its own. */
export const DEFAULT_LIST_SIZE = 10;
/** Page size caps of connections (fields with a `first` argument), by schema coordinate. */
const PAGE_CAPS: Record<string, number> = { "Query.runs": MAX_PAGE_SIZE, "Run.logs": MAX_LOG_PAGE_SIZE };
/** The cap assumed for a connection not listed: the largest of those listed. */
const LARGEST_PAGE = Math.max(...Object.values(PAGE_CAPS));
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

/**
 * The static cost estimate of an operation, with its variables: every field costs 1, plus its
 * selections' cost times the number of objects it can return. That number is the page size for the
 * `edges` of a connection (a field with a `first` argument: `first`, or the connection's cap when
 * absent), DEFAULT_LIST_SIZE for any other list, and 1 otherwise. Fields that execution merges (the
 * same response key, e.g. from a fragment spread twice) count once. Alternatives of a union are all
 * counted, so the estimate errs high. Introspection fields cost nothing: they are answered from the
 * schema in memory, whose size bounds them. Returns null when the variables are invalid (execution
 * reports that).
 */
export function operationCost(
  schema: GraphQLSchema,
  args: Pick<ExecutionArgs, "document" | "operationName" | "variableValues">,
): number | null {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation === null || operation === undefined) return null;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (coerced.errors !== undefined) return null;
  const variables = coerced.coerced;
  const fragments = fragmentsOf(args.document);
  const root =
    operation.operation === "query"
      ? schema.getQueryType()
      : operation.operation === "mutation"
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (root === null || root === undefined) return null;

  // As execution does, fields are gathered by response key (and, here, the type they are selected on),
  // through fragments, each fragment once per gathering; a key's selections merge and run once.
  type Group = { node: FieldNode; parent: GraphQLNamedType; sets: SelectionSetNode[] };
  const gather = (sets: readonly SelectionSetNode[], type: GraphQLNamedType): Map<string, Group> => {
    const groups = new Map<string, Group>();
    const visited = new Set<string>();
    const visit = (set: SelectionSetNode, parent: GraphQLNamedType): void => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          const key = `${parent.name}.${selection.alias?.value ?? selection.name.value}`;
          const group = groups.get(key) ?? { node: selection, parent, sets: [] };
          if (selection.selectionSet !== undefined) group.sets.push(selection.selectionSet);
          groups.set(key, group);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          visit(
            selection.selectionSet,
            selection.typeCondition === undefined ? parent : (schema.getType(selection.typeCondition.name.value) ?? parent),
          );
        } else {
          const fragment = fragments.get(selection.name.value);
          if (fragment === undefined || visited.has(fragment.name.value)) continue;
          visited.add(fragment.name.value);
          visit(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) ?? parent);
        }
      }
    };
    for (const set of sets) visit(set, type);
    return groups;
  };

  const selectionsCost = (sets: readonly SelectionSetNode[], type: GraphQLNamedType, pageSize: number | null): number => {
    let total = 0;
    for (const group of gather(sets, type).values()) total += fieldCost(group, pageSize);
    return total;
  };

  const fieldCost = ({ node, parent, sets }: Group, pageSize: number | null): number => {
    if (node.name.value.startsWith("__")) return 0;
    const field: GraphQLField<unknown, unknown> | undefined =
      isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (field === undefined || sets.length === 0) return 1;
    const connection = field.args.some((a) => a.name === "first");
    const ownPageSize = connection ? pageSizeOf(field, node, PAGE_CAPS[`${parent.name}.${field.name}`] ?? LARGEST_PAGE) : null;
    const count = isList(field.type) ? (pageSize ?? DEFAULT_LIST_SIZE) : 1;
    return 1 + count * selectionsCost(sets, getNamedType(field.type), ownPageSize);
  };

  // Above the cap, the resolver refuses the page itself, saying why.
  const pageSizeOf = (field: GraphQLField<unknown, unknown>, node: FieldNode, cap: number): number => {
    try {
      const first = getArgumentValues(field, node, variables)["first"];
      return typeof first === "number" && Number.isInteger(first) && first >= 0 ? Math.min(first, cap) : cap;
    } catch {
      // An argument execution will refuse; the cap is the most it could ask for.
      return cap;
    }
  };

  return selectionsCost([operation.selectionSet], root, null);
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

/** Refuses operations whose estimated cost (see `operationCost`) is above `budget`, before they run. */
export function costLimit(budget: number): Plugin {
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: ExecutionArgs;
    setResultAndStopExecution: (result: ExecutionResult) => void;
  }) => {
    const cost = operationCost(args.schema, args);
    if (cost !== null && cost > budget) {
      setResultAndStopExecution({
        errors: [
          refusal(
            `the operation's estimated cost is ${cost}; at most ${budget} is allowed (ask for smaller pages or fewer fields)`,
            "QUERY_TOO_COSTLY",
            undefined,
            { cost, budget },
          ),
        ],
      });
    }
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
 * Answers queries and mutations that run longer than `seconds` with a REQUEST_TIMEOUT error, and aborts
 * their execution (no further fields are resolved; work a resolver already started, such as a SQL
 * statement, finishes in the background). Subscriptions are long-lived by design and not limited.
 */
export function requestTimeout(seconds: number): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => {
        const controller = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<ExecutionResult>((resolve) => {
          timer = setTimeout(() => {
            const error = refusal(`the operation did not finish within ${seconds} s`, "REQUEST_TIMEOUT", undefined, { seconds });
            controller.abort(error);
            resolve({ data: null, errors: [error] });
          }, seconds * 1000);
        });
        // yoga's executor stops resolving fields once the signal is aborted.
        const withSignal: ExecutionArgs & { signal: AbortSignal } = { ...args, signal: controller.signal };
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
