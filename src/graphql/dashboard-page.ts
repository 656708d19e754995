import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Plugin } from "graphql-yoga";
import { CONTENT_SECURITY_POLICY } from "./graphiql-page.js";
import { STATIC_HEADERS, staticFiles } from "./static-files.js";

/** Where the build puts the dashboard's bundle (scripts/build-web.mjs), from src/graphql and dist/graphql alike. */
export const DASHBOARD_DIR = fileURLToPath(new URL("../../dist/web/dashboard/", import.meta.url));

/** Where the page loads its files from. */
const ASSETS = "/dashboard/";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FlorDB</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body>
<div id="root"><p class="loading">Loading the FlorDB dashboard...</p></div>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>
`;

/**
 * The dashboard (runs, curves across versions, the FlorQL console, hindsight replays) at `/`, from the
 * package's own files under /dashboard/. The page holds no data: it asks /graphql like any client, so
 * every protection of the endpoint applies to it, and it loads without the token even off loopback.
 */
export function dashboardPage(dir = DASHBOARD_DIR): Plugin[] {
  const built = existsSync(`${dir}/app.js`);
  const page: Plugin = {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname !== "/") return;
      if (request.method !== "GET" && request.method !== "HEAD") {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: "GET, HEAD" } }));
        return;
      }
      if (!built) {
        endResponse(
          new fetchAPI.Response(`The dashboard's files are not built (no ${dir}app.js): run npm run build\n`, {
            status: 503,
            headers: { "content-type": "text/plain; charset=utf-8" },
          }),
        );
        return;
      }
      endResponse(
        new fetchAPI.Response(request.method === "HEAD" ? null : PAGE, {
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
