import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, type OpenBrowser, openBrowser } from "../helpers/browser.js";
import { TestRepo } from "../helpers/repo.js";
import { type RunningServe, startServe } from "../helpers/serve.js";

// Another site's page, open in the same browser as the user's `flor serve`: what can it read?

const QUERY = "{ runs { edges { node { filename args { name value } } } } }";

/** What a page's script gets back from a request: the body it could read, or why it could read nothing. */
type Outcome = { read: string } | { blocked: string } | { opaque: true };

let repo: TestRepo;
let server: RunningServe;
let pages: Server;
let pagesPort: number;
let browser: OpenBrowser;

beforeAll(async () => {
  if (CHROMIUM === null) return;
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  expect(repo.runScript("train.mjs", ["--kwargs", "lr=0.1"]).status).toBe(0);
  // The other sites' pages: empty documents their scripts run in.
  pages = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>another site</title>"),
  );
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
  pagesPort = (pages.address() as AddressInfo).port;
  server = await startServe(repo, ["--cors-origin", `http://friend.test:${pagesPort}`]);
  browser = await openBrowser({ hosts: ["evil.test", "friend.test", "rebind.test"] });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((resolve) => (pages === undefined ? resolve(undefined) : pages.close(resolve)));
  repo?.remove();
});

/** Runs `fetch(url, init)` in a page at `origin` and says what its script could read. */
async function fetchFrom(origin: string, url: string, init: RequestInit): Promise<Outcome> {
  const page = await browser.page();
  try {
    await page.goto(origin);
    return await page.evaluate(
      async ([url, init]) => {
        try {
          const response = await fetch(url, init);
          if (response.type === "opaque") return { opaque: true as const };
          return { read: `${response.status} ${await response.text()}` };
        } catch (error) {
          return { blocked: String(error) };
        }
      },
      [url, init] as const,
    );
  } finally {
    await page.close();
  }
}

describe.skipIf(CHROMIUM === null)("another site's page in a real Chromium", () => {
  it("cannot read the API: no JSON request, no simple request, no GET", async () => {
    const evil = `http://evil.test:${pagesPort}/`;
    const body = JSON.stringify({ query: QUERY });
    // A JSON POST needs a preflight, which gets no grant.
    expect(await fetchFrom(evil, server.url, { method: "POST", headers: { "content-type": "application/json" }, body })).toEqual({
      blocked: expect.stringContaining("Failed to fetch"),
    });
    // A simple GET goes out, but its answer (a 403) is not the page's to read.
    expect(await fetchFrom(evil, `${server.url}?query=${encodeURIComponent(QUERY)}`, {})).toEqual({
      blocked: expect.stringContaining("Failed to fetch"),
    });
    // A text POST needs no preflight; without CORS the page sees an opaque answer, and the server ran nothing.
    expect(await fetchFrom(evil, server.url, { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body })).toEqual(
      {
        opaque: true,
      },
    );
  });

  it("can read it from the origin named with --cors-origin", async () => {
    const friend = `http://friend.test:${pagesPort}/`;
    const outcome = await fetchFrom(friend, server.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(outcome).toEqual({ read: expect.stringMatching(/^200 .*"filename":"train\.mjs"/) });
  });

  it("cannot rebind a name of its own to 127.0.0.1 and read the API as same-origin", async () => {
    // rebind.test resolves to 127.0.0.1, as an attacker's DNS would make it after the page loaded.
    const rebound = `http://rebind.test:${new URL(server.url).port}`;
    const page = await browser.page();
    try {
      const response = await page.goto(`${rebound}/graphql`);
      expect(response?.status()).toBe(421);
      const outcome = await page.evaluate(
        async ([query]) => {
          const answer = await fetch("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: query });
          return `${answer.status} ${await answer.text()}`;
        },
        [JSON.stringify({ query: QUERY })] as const,
      );
      expect(outcome).toMatch(/^421 /);
      expect(outcome).not.toContain("train.mjs");
    } finally {
      await page.close();
    }
  });
});
