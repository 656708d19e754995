import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { createYoga, type Plugin } from "graphql-yoga";
import { GraphQLError, Kind, type ASTNode, type ValidationContext, type ASTVisitor } from "graphql/index.js";
import type { ProjectLayout } from "../project-layout.js";
import type { Store } from "../store/open-store.js";
import { schema } from "./schema.js";

export interface FlorYogaOptions {
  store: Store;
  layout: ProjectLayout;
  /** Replay workers, for planning and for running replays the API starts (default: the cores). */
  workers?: number;
  /** GraphiQL on GET /graphql from a browser (default true). */
  graphiql?: boolean;
  /** The bearer token mutations (and replay: ASYNC) require; null or absent refuses them all. */
  token?: string | null;
  /** Runs before each request's operation, e.g. to ingest journals written since the last request. */
  refresh?: () => Promise<void>;
}

/** Operations nested deeper than this many selection levels are refused (code QUERY_TOO_DEEP). */
export const MAX_DEPTH = 12;

/** The file holding the token when FLOR_GRAPHQL_TOKEN is not set. */
export function tokenFile(layout: ProjectLayout): string {
  return path.join(layout.florDir, "graphql-token");
}

/** The configured token: FLOR_GRAPHQL_TOKEN, else `<florDir>/graphql-token`, else null. */
export function configuredToken(layout: ProjectLayout): string | null {
  const fromEnv = process.env["FLOR_GRAPHQL_TOKEN"];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.trim();
  try {
    const fromFile = readFileSync(tokenFile(layout), "utf8").trim();
    return fromFile === "" ? null : fromFile;
  } catch {
    return null;
  }
}

/** Whether an Authorization header carries `Bearer <token>`, compared in constant time. */
export function bearerMatches(header: string | null, token: string | null | undefined): boolean {
  if (token === null || token === undefined || header === null) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) return false;
  // Digests have one length, so the comparison does not reveal the token's.
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/** A validation rule refusing operations whose selections nest deeper than `max` (fragments followed). */
export function depthLimitRule(max: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map(context.getDocument().definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
    const depthOf = (node: ASTNode, seen: Set<string>): number => {
      if (node.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(node.name.value);
        if (fragment === undefined || seen.has(node.name.value)) return 0;
        return depthOf(fragment.selectionSet, new Set([...seen, node.name.value]));
      }
      if (node.kind === Kind.FIELD) return node.selectionSet === undefined ? 1 : 1 + depthOf(node.selectionSet, seen);
      if (node.kind === Kind.INLINE_FRAGMENT || node.kind === Kind.OPERATION_DEFINITION || node.kind === Kind.FRAGMENT_DEFINITION) return depthOf(node.selectionSet, seen);
      if (node.kind === Kind.SELECTION_SET) return Math.max(0, ...node.selections.map((s) => depthOf(s, seen)));
      return 0;
    };
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation, new Set());
        if (depth > max) {
          context.reportError(new GraphQLError(`the operation nests ${depth} levels deep; at most ${max} are allowed`, { nodes: [operation], extensions: { code: "QUERY_TOO_DEEP" } }));
        }
      },
    };
  };
}

const depthLimit: Plugin = {
  onValidate({ addValidationRule }) {
    addValidationRule(depthLimitRule(MAX_DEPTH));
  },
};

/**
 * The GraphQL endpoint at /graphql over one open store. Unexpected errors are masked (yoga's default):
 * clients see "Unexpected error." while GraphQLErrors raised on purpose and FlorQL errors-as-data pass.
 * Reads are open; mutations need `Authorization: Bearer <token>`.
 */
export function createFlorYoga({ store, layout, workers = availableParallelism(), graphiql = true, token = null, refresh }: FlorYogaOptions) {
  return createYoga({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql,
    landingPage: false,
    plugins: [depthLimit],
    context: async ({ request }) => {
      await refresh?.();
      return { store, layout, workers, authorized: bearerMatches(request.headers.get("authorization"), token) };
    },
  });
}
