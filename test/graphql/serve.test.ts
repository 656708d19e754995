import { once } from "node:events";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";

let repo: TestRepo;

beforeAll(() => {
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  expect(repo.runScript("train.mjs", ["--kwargs", "lr=0.1"]).status).toBe(0);
});

afterAll(() => repo?.remove());

it("flor serve ingests, answers over HTTP on loopback, and shuts down on SIGTERM releasing the store", async () => {
  // An empty FLOR_DATABASE_URL keeps the embedded store even when the test run has a PostgreSQL server.
  const env = { FLOR_DATABASE_URL: "" };
  const server = repo.startFlor(["serve", "--port", "0"], env);
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    server.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /serving GraphQL at (\S+)/.exec(stderr);
      if (found) resolve(found[1]!);
    });
    server.once("exit", (code) => reject(new Error(`flor serve exited ${code}: ${stderr}`)));
  });
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
  const response = await fetch(url, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ runs { edges { node { filename args { name value } } } } }" }),
  });
  expect(await response.json()).toEqual({ data: { runs: { edges: [{ node: { filename: "train.mjs", args: [{ name: "lr", value: 0.1 }, { name: "opt", value: "sgd" }] } }] } } });

  // Without a configured token it made one, readable by this user only, and said where (not what) it is.
  const tokenPath = path.join(repo.dir, ".flor", "graphql-token");
  const token = readFileSync(tokenPath, "utf8").trim();
  expect(token.length).toBeGreaterThanOrEqual(32);
  expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
  expect(stderr).toContain(tokenPath);
  expect(stderr).not.toContain(token);
  const mutate = (authorization: string) => fetch(url, {
    method: "POST", headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ query: "mutation { cancelReplay(id: 12345) }" }),
  }).then((r) => r.json());
  expect(await mutate(`Bearer ${token}`)).toEqual({ data: { cancelReplay: false } });
  expect(await mutate("Bearer nope")).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED" } }] });

  server.kill("SIGTERM");
  const [code] = await once(server, "exit");
  expect(code).toBe(0);
  // The embedded store was closed: another command can open it.
  expect(repo.flor(["runs", "--format", "json"], env).status).toBe(0);
});
