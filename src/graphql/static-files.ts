import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Plugin } from "graphql-yoga";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ttf": "font/ttf",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
};

/** The headers every file of the package's own pages is sent with. */
export const STATIC_HEADERS = {
  "x-content-type-options": "nosniff",
  // Another site cannot embed these files or frame the pages.
  "cross-origin-resource-policy": "same-origin",
  "x-frame-options": "DENY",
};

interface Entry {
  file: string;
  body?: Buffer;
  etag?: string;
}

/**
 * Serves the files of a directory the build wrote (a bundled page's scripts, styles, fonts) under a URL
 * prefix, GET and HEAD only. The files are listed once when the server starts, and only those are
 * served, by their exact name: no path from a request is ever joined onto the directory. Dotfiles are
 * not served. Each file is read once, then sent from memory with an ETag (a rebuild needs a restart).
 */
export function staticFiles(prefix: string, dir: string): Plugin {
  const entries = new Map<string, Entry>();
  for (const name of listFiles(dir)) entries.set(`${prefix}${name.split(path.sep).join("/")}`, { file: path.join(dir, name) });
  return {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (!url.pathname.startsWith(prefix)) return;
      const entry = entries.get(url.pathname);
      if (entry === undefined) {
        endResponse(new fetchAPI.Response("404 Not Found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } }));
        return;
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: "GET, HEAD" } }));
        return;
      }
      if (entry.body === undefined) {
        entry.body = readFileSync(entry.file);
        entry.etag = `"${createHash("sha256").update(entry.body).digest("base64url").slice(0, 27)}"`;
      }
      const headers = {
        ...STATIC_HEADERS,
        "content-type": CONTENT_TYPES[path.extname(entry.file)] ?? "application/octet-stream",
        "cache-control": "no-cache",
        etag: entry.etag!,
      };
      if (request.headers.get("if-none-match") === entry.etag) {
        endResponse(new fetchAPI.Response(null, { status: 304, headers }));
        return;
      }
      endResponse(
        new fetchAPI.Response(request.method === "HEAD" ? null : new Uint8Array(entry.body), {
          headers: { ...headers, "content-length": String(entry.body.length) },
        }),
      );
    },
  };
}

/** The files under `dir` (relative paths), none under a dot name; none when it does not exist. */
function listFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: "utf8" });
  } catch {
    return [];
  }
  return names.filter((name) => !name.split(path.sep).some((part) => part.startsWith(".")) && statSync(path.join(dir, name)).isFile());
}
