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
  fields: (t) => ({
    hasNextPage: t.exposeBoolean("hasNextPage"),
    hasPreviousPage: t.exposeBoolean("hasPreviousPage"),
    startCursor: t.exposeString("startCursor", { nullable: true }),
    endCursor: t.exposeString("endCursor", { nullable: true }),
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
      edges: t.field({ type: [edge], resolve: (c) => c.edges }),
      pageInfo: t.field({ type: PageInfoRef, resolve: (c) => c.pageInfo }),
    }),
  });
}

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.tstamp, position.id])).toString("base64url");
}

export function decodeCursor(cursor: string): KeysetPosition {
  try {
    const [tstamp, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (typeof tstamp === "string" && !Number.isNaN(Date.parse(tstamp)) && Number.isInteger(id)) return { tstamp, id: id as number };
  } catch {
    // Not base64 JSON: reported below like any other foreign cursor.
  }
  throw badInput(`"${cursor}" is not a cursor this server gave out`);
}

/** A mistake in a request's arguments, shown to the client (yoga masks every other error). */
export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}
