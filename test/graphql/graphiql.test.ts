import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, openBrowser } from "../helpers/browser.js";
import { PACKAGE_ROOT, TestRepo } from "../helpers/repo.js";
import { type RunningServe, startServe } from "../helpers/serve.js";

/** Where the test leaves its screenshot, to look at after a run (test-results/ is not committed). */
const SCREENSHOT = path.join(PACKAGE_ROOT, "test-results", "graphiql.png");

let repo: TestRepo;
let server: RunningServe;

/** What an editor shows, as rendered (lines apart), with the no-break spaces it renders as spaces. */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
const text = async (locator: Locator): Promise<string> => (await locator.innerText()).replace(/\u00a0/g, " ");

beforeAll(async () => {
  if (CHROMIUM === null) return;
  repo = TestRepo.create().addFixture("query-fixture.mjs", "train.mjs");
  repo.commitAll("fixture");
  expect(repo.runScript("train.mjs", ["--kwargs", "lr=0.1"]).status).toBe(0);
  server = await startServe(repo);
});

afterAll(async () => {
  await server?.stop();
  repo?.remove();
});

describe.skipIf(CHROMIUM === null)("GraphiQL in a real Chromium with the network off", () => {
  it("loads from the server alone, and a query typed and run shows its result", async () => {
    const browser = await openBrowser();
    try {
      const page = await browser.page();
      // A browser's navigation (Accept: text/html) to the endpoint gets GraphiQL.
      await page.goto(server.url);
      const editor = page.locator(".graphiql-query-editor .monaco-editor").first();
      await editor.waitFor({ timeout: 30_000 });
      // The default query says what the page is for.
      await expect.poll(() => text(editor), { timeout: 10_000 }).toContain("FlorDB's GraphQL API");

      await editor.click();
      await page.keyboard.press("Control+A");
      await page.keyboard.press("Delete");
      // Typed as a person types it: the editor closes each brace, and typing the closing one steps over it.
      const query = "{ project { projid runCount } runs { edges { node { filename args { name value } } } } }";
      await page.keyboard.type(query, { delay: 5 });
      await page.keyboard.press("Escape");
      expect((await text(editor)).replace(/\s+/g, " ").trim()).toBe(`1 ${query}`);
      // Prettified (Shift+Ctrl+P) as a person would, which also makes the screenshot readable.
      await page.keyboard.press("Shift+Control+P");
      await page.locator(".graphiql-execute-button").click();
      const response = page.locator(".graphiql-response");
      await expect.poll(() => text(response), { timeout: 15_000 }).toContain('"runCount": 1');
      const shown = await text(response);
      expect(shown).toContain(`"projid": "${path.basename(repo.dir)}"`);
      expect(shown).toContain('"filename": "train.mjs"');

      mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
      expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

      // Everything the page needed came from the server itself, nothing failed, and the console is clean.
      const origin = new URL(server.url).origin;
      expect(browser.requests.length).toBeGreaterThanOrEqual(5);
      expect(browser.requests.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
      expect(browser.requests).toContain(`${origin}/graphiql/app.js`);
      expect(browser.requests).toContain(`${origin}/graphiql/graphql.worker.js`);
      expect(browser.failures).toEqual([]);
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
