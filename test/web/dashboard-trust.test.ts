import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, type OpenBrowser, openBrowser } from "../helpers/browser.js";
import type { TestRepo } from "../helpers/repo.js";
import { type RunningServe, startServe } from "../helpers/serve.js";
import { recordUnverifiable } from "../replay/verified-history.js";
import { screenshot } from "./screenshots.js";

// A hindsight fill whose replays do not reproduce the recorded runs (nondeterministic.mjs): the page
// says so, with the likely cause, and marks the values it stored as unverified.

let repo: TestRepo;
let server: RunningServe;
let browser: OpenBrowser;

beforeAll(async () => {
  if (CHROMIUM === null) return;
  repo = recordUnverifiable();
  server = await startServe(repo);
  browser = await openBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  repo?.remove();
});

describe.skipIf(CHROMIUM === null)("the dashboard on replays that diverge", () => {
  it("shows the divergences, their cause, and the unverified values of the answer", async () => {
    const page = await browser.page();
    const origin = new URL(server.url).origin;
    const query = "SELECT tstamp, epoch, w0 FROM nondeterministic.mjs WHERE epoch >= 2";
    await page.goto(`${origin}/#/query?q=${encodeURIComponent(query)}`);
    await page.locator(".missing").waitFor({ timeout: 30_000 });
    await page.getByLabel(/token/).fill(readFileSync(path.join(repo.dir, ".flor", "graphql-token"), "utf8").trim());
    await page.getByRole("button", { name: "Fill by replay" }).click();
    const status = page.locator("[data-job-status]");
    await expect.poll(() => status.getAttribute("data-job-status"), { timeout: 120_000, interval: 200 }).toBe("DONE");
    const fill = page.locator(".fill .warning");
    await fill.waitFor();
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
    const said = await fill.innerText();
    expect(said).toMatch(
      /\d+ recorded value\(s\) were not reproduced; \d+ task\(s\) redone from the run's start; \d+ value\(s\) stored unverified/,
    );
    expect(said).toContain("nondeterministic.mjs at");
    expect(said).toContain("(redone from the start)");
    // The answer, asked again, carries the marks.
    const unverified = page.locator(".hindsight > p.warning", { hasText: "unverified values" });
    await expect.poll(() => unverified.count(), { timeout: 20_000 }).toBe(1);
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
    expect(await unverified.innerText()).toMatch(/w0: \d+ row\(s\) hold unverified values .* select w0__verified to see which/);
    await screenshot(page, "divergence");
    expect(browser.errors).toEqual([]);
  });
});
