import { STATUS_CODES } from "node:http";
import { useCORS } from "@whatwg-node/server";
import { getOperationAST } from "graphql/index.js";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import { FlorUsageError } from "../errors.js";

// What a web page in the same browser as the user can make the browser send to `flor serve`, and what it
// can read back. A page can send "simple" requests anywhere without asking (form and text POSTs, GETs),
// and can read an answer only when the server grants its origin through CORS. So: no grant unless an
// origin is named, a request from another origin is refused outright, and a POST body must be JSON,
// which a page on another origin can only send after a preflight that gets no grant.

/** Checks an --cors-origin value: `scheme://host[:port]`, as a browser sends it in Origin. */
export function checkedOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new FlorUsageError(`--cors-origin ${origin}: not an origin such as http://localhost:5173`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== origin.replace(/\/$/, ""))
    throw new FlorUsageError(
      `--cors-origin ${origin}: an origin is scheme://host[:port] with nothing after it, e.g. http://localhost:5173`,
    );
  return url.origin;
}

/** The origin a browser gives the pages the server itself serves, from the request's Host. */
function ownOrigin(request: Request): string | null {
  const host = request.headers.get("host");
  return host === null ? null : `${new URL(request.url).protocol}//${host}`;
}

function isAllowedOrigin(request: Request, origins: readonly string[]): boolean {
  const origin = request.headers.get("origin");
  if (origin !== null) return origin === ownOrigin(request) || origins.includes(origin);
  // Browsers send no Origin with another site's <img>, <script> or <link> GETs, but say where they come
  // from in Sec-Fetch-Site. A link followed from another site (a navigation) opens the page as any link does.
  const site = request.headers.get("sec-fetch-site");
  return site === null || site === "same-origin" || site === "none" || request.headers.get("sec-fetch-mode") === "navigate";
}

function refusal(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    statusText: STATUS_CODES[status] ?? "",
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

/**
 * Requests that carry an Origin other than the server's own and the `origins` named are refused with
 * 403 before they are read: browsers send Origin with every cross-origin request and every POST, so a
 * form another site submits never runs; another site's subresource GETs are told by Sec-Fetch-Site.
 * Clients that are not browsers send neither. CORS grants go only to the named origins (without
 * credentials: the token travels in a header, not a cookie).
 */
export function originGuard(origins: readonly string[], ownOrigins: readonly string[] = []): Plugin[] {
  const check: Plugin = {
    onRequest({ request, endResponse }) {
      if (isAllowedOrigin(request, [...origins, ...ownOrigins])) return;
      endResponse(
        refusal(
          403,
          "FORBIDDEN_ORIGIN",
          `requests from ${request.headers.get("origin") ?? "another site"} are refused; start flor serve with --cors-origin to allow an origin`,
        ),
      );
    },
  };
  const cors = useCORS((request: Request) => {
    const origin = request.headers.get("origin");
    if (origin === null || !origins.includes(origin)) return false;
    return {
      origin: [origin],
      credentials: false,
      methods: ["GET", "POST"],
      allowedHeaders: ["content-type", "accept", "authorization"],
      maxAge: 600,
    };
  }) as Plugin;
  return [check, cors];
}

/** The media type of a request body, without parameters. */
function mediaType(request: Request): string | null {
  return request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() || null;
}

/**
 * POST bodies to the endpoint must be `application/json`: a browser sends a page's form, multipart or
 * text body to another origin without a preflight, a JSON one only after it. Refused with 415, unread.
 */
export function jsonBodiesOnly(endpoint: string): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (request.method !== "POST" || url.pathname !== endpoint) return;
      const type = mediaType(request);
      if (type === "application/json") return;
      endResponse(
        refusal(
          415,
          "UNSUPPORTED_MEDIA_TYPE",
          `a POST body must be application/json (${type === null ? "no Content-Type was given" : `not ${type}`}): {"query": "...", "variables": {...}}`,
        ),
      );
    },
  };
}

/** GET runs queries only (yoga refuses mutations itself); a subscription goes over POST, as a mutation does. */
export const queriesOnlyOverGet: Plugin = {
  onParse() {
    return ({ result, context }) => {
      const { request, params } = context as { request?: Request; params?: { operationName?: string } };
      if (request?.method !== "GET" || result instanceof Error) return;
      const operation = getOperationAST(result, params?.operationName);
      if (operation?.operation === "subscription") {
        throw createGraphQLError("a subscription cannot be sent with GET; POST it as application/json", {
          extensions: { http: { status: 405, headers: { Allow: "POST" } }, code: "METHOD_NOT_ALLOWED" },
        });
      }
    };
  },
};
