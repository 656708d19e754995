import { createHash, timingSafeEqual } from "node:crypto";
import { GraphQLError } from "graphql/index.js";
import type { Plugin } from "graphql-yoga";
import type { FlorContext } from "./builder.js";

/** Refuses a request without the configured bearer token (code UNAUTHENTICATED). */
export function requireToken(context: FlorContext, what: string): void {
  if (!context.authorized) {
    throw new GraphQLError(
      `${what} needs the bearer token (Authorization: Bearer <token>; see FLOR_GRAPHQL_TOKEN or .flor/graphql-token)`,
      { extensions: { code: "UNAUTHENTICATED" } },
    );
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

/**
 * Every request to the endpoint needs the token (a server whose reads are not open): one without it
 * is answered 401 before its document is parsed, validated or anything is read from the store, so an
 * unauthenticated client learns nothing of the schema and costs the server nothing.
 */
export function tokenForEveryRequest(endpoint: string, token: string | null): Plugin {
  return {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname !== endpoint || bearerMatches(request.headers.get("authorization"), token)) return;
      const message = "this server needs the bearer token for every request (it is not bound to loopback): Authorization: Bearer <token>";
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: "UNAUTHENTICATED" } }] }), {
          status: 401,
          statusText: "Unauthorized",
          headers: { "content-type": "application/json; charset=utf-8", "www-authenticate": 'Bearer realm="flor"' },
        }),
      );
    },
  };
}
