import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";
import { startServe } from "../helpers/serve.js";

let repo: TestRepo;

beforeAll(() => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  expect(repo.runScript("train.mjs", ["--kwargs", "lr=0.1"]).status).toBe(0);
});

afterAll(() => repo?.remove());

it("flor serve ingests, answers over HTTP on loopback, and shuts down on SIGTERM releasing the store", async () => {
  const env = { FLOR_DATABASE_URL: "" };
  const server = await startServe(repo, [], env);
  const { url } = server;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ runs { edges { node { filename args { name value } } } } }" }),
  });
  expect(await response.json()).toEqual({
    data: {
      runs: {
        edges: [
          {
            node: {
              filename: "train.mjs",
              args: [
                { name: "lr", value: 0.1 },
                { name: "opt", value: "sgd" },
              ],
            },
          },
        ],
      },
    },
  });

  // Without a configured token it made one, readable by this user only, and said where (not what) it is.
  const tokenPath = path.join(repo.dir, ".flor", "graphql-token");
  const token = readFileSync(tokenPath, "utf8").trim();
  expect(token.length).toBeGreaterThanOrEqual(32);
  expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
  expect(server.stderr()).toContain(tokenPath);
  expect(server.stderr()).not.toContain(token);
  const mutate = (authorization: string) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify({ query: "mutation { cancelReplay(id: 12345) }" }),
    }).then((r) => r.json());
  expect(await mutate(`Bearer ${token}`)).toEqual({ data: { cancelReplay: false } });
  expect(await mutate("Bearer nope")).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED" } }] });

  expect(await server.stop()).toBe(0);
  // The embedded store was closed: another command can open it.
  expect(repo.flor(["runs", "--format", "json"], env).status).toBe(0);
});

it("flor serve refuses a bad FLOR_GRAPHQL_TIMEOUT_SECONDS before it touches the store or writes a token", () => {
  const fresh = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  try {
    const result = fresh.flor(["serve", "--port", "0"], { FLOR_DATABASE_URL: "", FLOR_GRAPHQL_TIMEOUT_SECONDS: "soon" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/FLOR_GRAPHQL_TIMEOUT_SECONDS=soon: the GraphQL request timeout must be a positive number of seconds/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(fresh.dir, ".flor", "graphql-token"))).toBe(false);
  } finally {
    fresh.remove();
  }
});

it("flor serve bound beyond loopback needs the token for reads, and the CLI still goes through it", async () => {
  const env = { FLOR_DATABASE_URL: "" };
  const server = await startServe(repo, ["--host", "0.0.0.0"], env);
  try {
    expect(server.stderr()).toContain("0.0.0.0 is not loopback: every request needs the bearer token, reads too");
    const port = new URL(server.url).port;
    const read = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ runs { edges { cursor } } }" }),
    });
    expect(read.status).toBe(401);
    expect(await read.json()).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED" } }] });
    // Before the document is looked at: a misspelt field gets the same answer, and no "did you mean".
    const probe = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ run { edges { cursor } } }" }),
    });
    expect(probe.status).toBe(401);
    expect(await probe.text()).not.toMatch(/did you mean/i);
    // The CLI finds the server (on loopback) and sends the token it reads from .flor/graphql-token.
    const runs = repo.flor(["runs", "--format", "json"], env);
    expect(runs.status, runs.stderr).toBe(0);
    expect(JSON.parse(runs.stdout)).toHaveLength(1);
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

it("flor serve refuses a malformed --cors-origin, --allowed-host or --public-url before it touches the store", () => {
  const fresh = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  try {
    for (const [args, message] of [
      [["--cors-origin", "example.org"], "--cors-origin example.org: not an origin such as http://localhost:5173"],
      [["--cors-origin", "http://example.org/app"], "an origin is scheme://host[:port] with nothing after it"],
      [["--allowed-host", "a b"], '"a b" is not a host name, an address or either with :port'],
      [["--public-url", "ftp://example.org/"], "--public-url ftp://example.org/: must be http or https"],
    ] as const) {
      const result = fresh.flor(["serve", "--port", "0", ...args], { FLOR_DATABASE_URL: "" });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(path.join(fresh.dir, ".flor", "graphql-token"))).toBe(false);
  } finally {
    fresh.remove();
  }
});
