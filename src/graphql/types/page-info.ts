// The CommonJS entry, which Node's resolution of "graphql" picks too: vitest would otherwise load the
// .mjs copy for our code and Pothos and yoga would reject its types and errors as from "another realm".
import type { ObjectRef } from "@pothos/core";
import { GraphQLError } from "graphql/index.js";
import { builder } from "../builder.js";

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** Where a page ends, in the order pages are read: a run's start time, then its id for runs started in the same millisecond. */
export interface KeysetPosition {
  tstamp: string;
  id: number;
}

export const PageInfoRef = builder.objectRef<PageInfo>("PageInfo").implement({
  description: "Relay page info. Cursors are opaque keyset positions, valid across requests.",
  // Computed with the page, at no cost of its own: free, so that a connection's page size (which
  // multiplies everything selected on the connection) does not multiply it.
  fields: (t) => ({
    hasNextPage: t.exposeBoolean("hasNextPage", { complexity: 0 }),
    hasPreviousPage: t.exposeBoolean("hasPreviousPage", { complexity: 0 }),
    startCursor: t.exposeString("startCursor", { nullable: true, complexity: 0 }),
    endCursor: t.exposeString("endCursor", { nullable: true, complexity: 0 }),
  }),
});

export interface Edge<T> {
  cursor: string;
  node: T;
}
export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/** A Relay connection type `<name>Connection` of `<name>Edge`s over `node`. */
export function connectionRef<T>(name: string, node: ObjectRef<typeof builder.$inferSchemaTypes, T>) {
  const edge = builder.objectRef<Edge<T>>(`${name}Edge`).implement({
    fields: (t) => ({
      cursor: t.exposeString("cursor"),
      node: t.expose("node", { type: node }),
    }),
  });
  return builder.objectRef<Connection<T>>(`${name}Connection`).implement({
    fields: (t) => ({
      // The connection's own cost counts its page's items (limits.ts pageCost): not again here.
      edges: t.field({ type: [edge], complexity: { field: 1, multiplier: 1 }, resolve: (c) => c.edges }),
      pageInfo: t.field({ type: PageInfoRef, complexity: 0, resolve: (c) => c.pageInfo }),
    }),
  });
}

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.tstamp, position.id])).toString("base64url");
}

/** Whether a value fits the store's integer columns (PostgreSQL `integer`, as run ids and sequence numbers are). */
export function isInt4(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31;
}

/** The form of the start times in cursors this server gives out (`Date.toISOString`), years 1000 to 9999. */
const CURSOR_TSTAMP = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function decodeCursor(cursor: string): KeysetPosition {
  try {
    const [tstamp, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    // Checked to the store's ranges: a value past them would reach SQL and fail there, unexplained.
    if (typeof tstamp === "string" && CURSOR_TSTAMP.test(tstamp) && new Date(tstamp).toISOString() === tstamp && isInt4(id))
      return { tstamp, id };
  } catch {
    // Not base64 JSON: reported below like any other foreign cursor.
  }
  throw badInput(`"${cursor}" is not a cursor this server gave out`);
}

/** A mistake in a request's arguments, shown to the client (yoga masks every other error). */
export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}
