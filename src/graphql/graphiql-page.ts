import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { shouldRenderGraphiQL, type Plugin } from "graphql-yoga";
import { STATIC_HEADERS, staticFiles } from "./static-files.js";

/**
 * Where the build puts GraphiQL's bundle (scripts/build-web.mjs): dist/web/graphiql of the package,
 * reached the same way from src/graphql (tests) and dist/graphql (the built CLI).
 */
export const GRAPHIQL_DIR = fileURLToPath(new URL("../../dist/web/graphiql/", import.meta.url));

/** Where the page loads its files from: relative links from the endpoint's page land here. */
const ASSETS = "/graphiql/";

/**
 * Everything the package's pages may do: load their own files, talk to the server they came from, run
 * their editors' workers. Nothing from anywhere else, and no other site may frame them. The editors
 * (Monaco, CodeMirror) and the charts set inline styles.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FlorDB GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="graphiql/app.css">
</head>
<body style="margin: 0; height: 100vh">
<div id="root" style="height: 100vh">Loading GraphiQL...</div>
<script type="module" src="graphiql/app.js"></script>
</body>
</html>
`;

/**
 * GraphiQL, from the package's own files: the page on GET of the endpoint from a browser (Accept:
 * text/html), its bundle under /graphiql/. yoga's own GraphiQL loads its code from a CDN, and stays
 * blank offline.
 */
export function graphiqlPage(endpoint: string, dir = GRAPHIQL_DIR): Plugin[] {
  const built = existsSync(`${dir}/app.js`);
  const page: Plugin = {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname !== endpoint || !shouldRenderGraphiQL(request)) return;
      if (!built) {
        endResponse(
          new fetchAPI.Response(`GraphiQL's files are not built (no ${dir}app.js): run npm run build\n`, {
            status: 503,
            headers: { "content-type": "text/plain; charset=utf-8" },
          }),
        );
        return;
      }
      endResponse(
        new fetchAPI.Response(PAGE, {
          headers: {
            ...STATIC_HEADERS,
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "cache-control": "no-cache",
          },
        }),
      );
    },
  };
  return [page, staticFiles(ASSETS, dir)];
}
