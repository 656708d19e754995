import { readFileSync } from "node:fs";
import { request } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";
import { type RunningServe, startServe } from "../helpers/serve.js";

/** The one other origin this server lets call it. */
const FRIEND = "http://friend.test:5173";

let repo: TestRepo;
let server: RunningServe;
let port: number;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * An HTTP request to the server as any client (a browser, another site's page, a script) can send it:
 * headers exactly as given, Host included (fetch would not let a test set it).
 */
function send(
  path: string,
  { method = "GET", headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers }, setHost: false },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const json = (query: string, headers: Record<string, string> = {}) =>
  send("/graphql", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query }) });

beforeAll(async () => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  expect(repo.runScript("train.mjs", ["--kwargs", "lr=0.1"]).status).toBe(0);
  // Today's version logs a value the run lacks, so explain plans a replay (propagation and all).
  repo.write("train.mjs", `${repo.git("show", "HEAD:train.mjs")}\nflor.log("extra", lr * 2);\n`);
  server = await startServe(repo, [
    "--cors-origin",
    FRIEND,
    "--allowed-host",
    "flor.example",
    "--public-url",
    "https://proxy.example/flor/",
  ]);
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server?.stop();
  repo?.remove();
});

describe("flor serve against a web page in the same browser", () => {
  it("answers JSON POSTs, and refuses form, multipart, text and GraphQL-string bodies unread with 415", async () => {
    expect(JSON.parse((await json("{ __typename }")).body)).toEqual({ data: { __typename: "Query" } });
    // Even with the token (a page cannot have it; a careless script might), such a body is not run.
    const token = readFileSync(path.join(repo.dir, ".flor", "graphql-token"), "utf8").trim();
    const mutation = "mutation { cancelReplay(id: 1) }";
    const boundary = "----flor";
    for (const [type, body] of [
      ["application/x-www-form-urlencoded", `query=${encodeURIComponent(mutation)}`],
      [
        "multipart/form-data; boundary=----flor",
        `--${boundary}\r\nContent-Disposition: form-data; name="query"\r\n\r\n${mutation}\r\n--${boundary}--\r\n`,
      ],
      ["text/plain", JSON.stringify({ query: mutation })],
      ["text/plain;charset=UTF-8", JSON.stringify({ query: "{ runs { edges { node { args { name value } } } } }" })],
      ["application/graphql", "{ __typename }"],
      [null, JSON.stringify({ query: "{ __typename }" })],
    ] as const) {
      const answer = await send("/graphql", {
        method: "POST",
        headers: { ...(type === null ? {} : { "content-type": type }), authorization: `Bearer ${token}` },
        body,
      });
      expect(answer.status, `${type}`).toBe(415);
      const parsed = JSON.parse(answer.body) as { data?: unknown; errors: { extensions: { code: string } }[] };
      expect(parsed).not.toHaveProperty("data");
      expect(parsed.errors[0]!.extensions.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
  });

  it("grants CORS to no origin but the one named: another origin's preflight and requests are refused", async () => {
    const evil = "http://evil.example";
    const preflight = (origin: string) =>
      send("/graphql", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
      });
    const refused = await preflight(evil);
    expect(refused.status).toBe(403);
    expect(Object.keys(refused.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
    for (const answer of [
      await json("{ __typename }", { origin: evil }),
      await send("/graphql?query=%7B__typename%7D", { headers: { origin: evil } }),
    ]) {
      expect(answer.status).toBe(403);
      expect(answer.body).not.toContain('"data"');
      expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    }
    // Another site's <script> or <img> GET carries no Origin, but says where it comes from; a link followed is a navigation.
    const embedded = await send(`/graphql?query=${encodeURIComponent("{ __typename }")}`, {
      headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "script" },
    });
    expect(embedded.status).toBe(403);
    expect(embedded.body).not.toContain('"data"');
    const followed = await send("/graphql", {
      headers: { accept: "text/html", "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
    });
    expect(followed.status).toBe(200);
    expect(followed.body).toContain("GraphiQL");
    // A sandboxed page (Origin: null) is another origin too; the server's own pages are not.
    expect((await json("{ __typename }", { origin: "null" })).status).toBe(403);
    expect((await json("{ __typename }", { origin: `http://127.0.0.1:${port}` })).status).toBe(200);

    // The named origin is granted, without credentials (the token is a header, not a cookie).
    const granted = await preflight(FRIEND);
    expect(granted.status).toBe(204);
    expect(granted.headers["access-control-allow-origin"]).toBe(FRIEND);
    expect(granted.headers["access-control-allow-headers"]).toContain("authorization");
    expect(granted.headers["access-control-allow-credentials"]).toBeUndefined();
    const read = await json("{ __typename }", { origin: FRIEND });
    expect(read.status).toBe(200);
    expect(read.headers["access-control-allow-origin"]).toBe(FRIEND);
  });

  it("serves only its own Host names (against DNS rebinding) and those named with --allowed-host", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "flor.example", "flor.example:8443", "FLOR.example"]) {
      const answer = await json("{ __typename }", { host });
      expect(answer.status, host).toBe(200);
    }
    for (const host of [
      "evil.example",
      `evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      "127.0.0.1",
      "localhost",
      `127.0.0.2:${port}`,
      `${port}`,
    ]) {
      const answer = await json("{ __typename }", { host });
      expect(answer.status, host).toBe(421);
      expect(answer.body).toContain("--allowed-host");
      // Nothing else either: GraphiQL, its files, a preflight.
      expect((await send("/graphql", { headers: { host, accept: "text/html" } })).status).toBe(421);
      expect((await send("/graphiql/app.js", { headers: { host } })).status).toBe(421);
      expect((await send("/", { headers: { host } })).status).toBe(421);
      expect((await send("/dashboard/app.js", { headers: { host } })).status).toBe(421);
    }
  });

  it("behind a reverse proxy (--public-url), answers its Host and takes its https origin as its own", async () => {
    expect(server.stderr()).toContain("flor: public URL https://proxy.example/flor/");
    const proxied = await json("{ __typename }", { host: "proxy.example", origin: "https://proxy.example" });
    expect(proxied.status).toBe(200);
    // Its own origin needs no CORS grant: the browser sees the page and the API on one origin.
    expect(proxied.headers["access-control-allow-origin"]).toBeUndefined();
    expect((await json("{ __typename }", { host: "proxy.example", origin: "https://other.example" })).status).toBe(403);
  });

  it("runs only queries over GET: mutations and subscriptions must be POSTed", async () => {
    const get = (query: string, accept = "application/json") =>
      send(`/graphql?query=${encodeURIComponent(query)}`, { headers: { accept } });
    expect(JSON.parse((await get("{ __typename }")).body)).toEqual({ data: { __typename: "Query" } });
    const mutation = await get("mutation { cancelReplay(id: 1) }");
    expect(mutation.status).toBe(405);
    const subscription = await get("subscription { replayJobEvents(id: 1) { id } }", "text/event-stream");
    expect(subscription.status).toBe(405);
    expect(subscription.body).toContain("POST it as application/json");
  });

  it("serves GraphiQL and its files from the package, with a policy that keeps the page to this server", async () => {
    const page = await send("/graphql", { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="graphiql/app.js">');
    expect(page.body).not.toMatch(/https?:\/\//);
    expect(page.headers["content-security-policy"]).toContain("connect-src 'self'");
    expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    const script = await send("/graphiql/app.js");
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers["x-content-type-options"]).toBe("nosniff");
    const again = await send("/graphiql/app.js", { headers: { "if-none-match": String(script.headers["etag"]) } });
    expect(again.status).toBe(304);
    for (const path of [
      "/graphiql/../package.json",
      "/graphiql/%2e%2e/package.json",
      "/graphiql/.inputs",
      "/graphiql/",
      "/graphiql/nope.js",
    ]) {
      expect((await send(path)).status, path).toBe(404);
    }
    expect((await send("/graphiql/app.js", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(
      405,
    );
  });
});

describe("flor serve's dashboard", () => {
  it("is served at / from the package's files, with the same policy as GraphiQL, and only GET and HEAD", async () => {
    const page = await send("/", { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="/dashboard/app.js">');
    expect(page.body).not.toMatch(/https?:\/\//);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.headers["content-security-policy"]).toContain("connect-src 'self'");
    expect(page.headers["x-frame-options"]).toBe("DENY");
    for (const file of ["/dashboard/app.js", "/dashboard/app.css"]) {
      const asset = await send(file);
      expect(asset.status, file).toBe(200);
      expect(asset.headers["x-content-type-options"]).toBe("nosniff");
      expect(asset.body).not.toMatch(/(?:src|href)=["']?https?:\/\//);
    }
    for (const path of ["/dashboard/../package.json", "/dashboard/.inputs", "/dashboard/", "/index.html"]) {
      expect((await send(path)).status, path).toBe(404);
    }
    expect((await send("/", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(405);
    // Another site cannot load it as a subresource; a link followed from another site opens it.
    expect((await send("/", { headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors" } })).status).toBe(403);
    expect((await send("/", { headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" } })).status).toBe(200);
  });
});

describe("flor serve under heavy requests", () => {
  const explains = (n: number) =>
    `{ ${Array.from({ length: n }, (_, i) => `e${i}: explain(query: "SELECT epoch, acc, extra") { __typename }`).join(" ")} }`;

  /** Sends four `query`s at once and, while they run, `{ __typename }`: its latency and the four answers. */
  async function cheapWhileHeavy(query: string): Promise<{ latencies: number[]; answers: { data?: unknown; errors?: unknown[] }[] }> {
    const heavy = Array.from({ length: 4 }, () => json(query).then((a) => JSON.parse(a.body) as { data?: unknown; errors?: unknown[] }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const latencies: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      expect(JSON.parse((await json("{ __typename }")).body)).toEqual({ data: { __typename: "Query" } });
      latencies.push(performance.now() - started);
    }
    return { latencies, answers: await Promise.all(heavy) };
  }

  it("answers { __typename } in under a second while 4 × 30 aliased explains arrive (refused by their cost)", async () => {
    const { latencies, answers } = await cheapWhileHeavy(explains(30));
    expect(Math.max(...latencies)).toBeLessThan(1000);
    for (const answer of answers)
      expect(answer).toEqual({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: "QUERY_TOO_COSTLY" }) })] });
  });

  it("answers { __typename } in under a second while 4 × 4 aliased explains run (within the budget)", async () => {
    const { latencies, answers } = await cheapWhileHeavy(explains(4));
    expect(Math.max(...latencies)).toBeLessThan(1000);
    for (const answer of answers) {
      expect(answer.errors).toBeUndefined();
      expect(Object.values(answer.data as object)).toEqual(Array.from({ length: 4 }, () => ({ __typename: "FlorqlExplanation" })));
    }
  }, 120_000);
});
