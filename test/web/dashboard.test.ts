import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HINDSIGHT_LOG, recordDemoProject } from "../../scripts/demo-project.mjs";
import { CHROMIUM, type OpenBrowser, openBrowser } from "../helpers/browser.js";
import { TestRepo } from "../helpers/repo.js";
import { type RunningServe, startServe } from "../helpers/serve.js";
import { type EventPayload, eventsOf, readSse, SUBSCRIBE } from "../graphql/sse.js";
import { screenshot } from "./screenshots.js";

// The dashboard in a real Chromium with the network off, against `flor serve` over the demo's project:
// the iris example recorded over four versions, and a value today's version logs that they never did.

let repo: TestRepo;
let server: RunningServe;
let browser: OpenBrowser;
let page: Page;
let origin: string;

/** The text a person reads in an element, as rendered. */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
const shown = (locator: Locator): Promise<string> => locator.innerText();

/** A subscription POSTed to the server from here, as its event stream. */
function subscribe(body: string): Promise<Response> {
  return fetch(server.url, { method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream" }, body });
}

/** Replaces the console editor's text as a person would: select all, type. */
async function typeQuery(text: string): Promise<void> {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(text);
}

beforeAll(async () => {
  if (CHROMIUM === null) return;
  const dir = mkdtempSync(path.join(tmpdir(), "flor-dashboard-"));
  recordDemoProject(dir, { epochs: 4 });
  repo = TestRepo.at(dir);
  server = await startServe(repo);
  origin = new URL(server.url).origin;
  browser = await openBrowser();
  page = await browser.page();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  repo?.remove();
});

describe.skipIf(CHROMIUM === null)("the dashboard in a real Chromium with the network off", () => {
  it("opens on the runs table, from the server alone, and pages it with the API's cursors", async () => {
    expect(server.stderr()).toContain(`flor: dashboard at ${origin}/\n`);
    const started = performance.now();
    await page.goto(`${origin}/`);
    const rows = page.locator("table.runs tbody tr");
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(4);
    const loadMs = performance.now() - started;
    // In the page's own clock: from the start of navigation to the frame that showed the first runs.
    const shownAt = await page.evaluate(() => performance.getEntriesByName("flor:runs-shown")[0]?.startTime ?? -1);
    expect(shownAt).toBeGreaterThan(0);
    console.log(
      `dashboard: the runs table was on screen ${shownAt.toFixed(0)} ms after navigation started (${loadMs.toFixed(0)} ms around page.goto)`,
    );

    const text = await shown(rows.first());
    expect(text).toContain("train.ts");
    expect(text).toContain("ok");
    expect(text).toContain("hidden=16");
    expect(await shown(rows.nth(3))).toContain("momentum=0.95");
    await screenshot(page, "runs");

    // Filtered by args: the two runs with hidden=32.
    await page.getByLabel("args").fill("hidden=32");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => rows.count()).toBe(2);
    for (const row of await rows.all()) expect(await shown(row)).toContain("hidden=32");
    // And by status: none failed.
    await page.getByLabel("failed").check();
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => page.getByText("No runs match.").count()).toBe(1);

    // Pages of 3: Next follows endCursor, Previous goes back.
    await page.goto(`${origin}/#/?size=3`);
    await expect.poll(() => rows.count()).toBe(3);
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await shown(page.locator(".pager"))).toContain("runs 4\u20134");
    await page.getByRole("button", { name: "Previous" }).click();
    await expect.poll(() => rows.count()).toBe(3);
  });

  it("shows a run's page: args, loops, checkpoints, a chart per logged name", async () => {
    await page.goto(`${origin}/`);
    await page.locator("table.runs tbody tr a").first().click();
    await page.getByRole("heading", { name: "Loops" }).waitFor();
    const loops = await shown(page.locator("section[aria-labelledby=loops-title] tbody"));
    expect(loops).toMatch(/epoch[\s\S]*step/);
    expect(await page.getByRole("heading", { name: /Checkpoints \(4\)/ }).count()).toBe(1);
    const loss = page.locator('section[aria-label^="loss over"] .chart-canvas');
    await loss.waitFor();
    expect(await loss.getAttribute("data-series")).toBe("1");
    expect(await page.locator("section.chart-card").count()).toBe(3); // loss, train_acc, val_acc; test_acc is outside loops
    expect(await shown(page.locator("table.scalars"))).toContain("test_acc");
    await screenshot(page, "run");
  });

  it("draws a logged name across versions: one curve per run, coloured by version, and diffs two versions", async () => {
    await page.goto(`${origin}/#/curves`);
    const chart = page.locator(".answer-chart .chart-canvas");
    await chart.waitFor({ timeout: 20_000 });
    expect(await chart.getAttribute("data-series")).toBe("4");
    expect(await page.locator("ul.legend li").count()).toBe(4);
    const legend = await shown(page.locator("ul.legend"));
    expect(legend).toContain("lower the learning rate");
    expect(legend).toContain("hidden=32");
    expect(await shown(page.locator("code").first())).toBe(
      "SELECT tstamp, vid, epoch, step, loss FROM train.ts ORDER BY tstamp, epoch, step",
    );

    await page.getByRole("button", { name: "Show the diff" }).click();
    const diff = page.locator("pre.diff");
    await diff.waitFor();
    expect(await diff.locator(".add").allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining("0.95")]));
    await screenshot(page, "curves");
  });

  it("shows a FlorQL error at its span, with the hint", async () => {
    await page.goto(`${origin}/#/query`);
    await page.locator(".cm-content").waitFor();
    await typeQuery("SELECT vid, epoch, los FROM train.ts");
    await page.keyboard.press("Control+Enter");
    const error = page.locator(".florql-error");
    await error.waitFor();
    const said = await shown(error);
    expect(said).toContain("FQL020 at line 1, column 20");
    expect(said).toContain("`loss`");
    expect(await shown(page.locator(".cm-florql-error"))).toBe("los");
    await screenshot(page, "console-error");
  });

  it("renders EXPLAIN: the versions x columns matrix and the replay tasks", async () => {
    await typeQuery("SELECT tstamp, vid, epoch, val_acc, w2_norm FROM train.ts WHERE epoch >= 2");
    await page.getByRole("button", { name: "Explain" }).click();
    const tables = page.locator("table.explain-table");
    await tables.first().waitFor();
    expect(await tables.count()).toBe(2);
    expect(await tables.nth(0).locator("th").allInnerTexts()).toEqual(["vid", "script", "runs", "val_acc", "w2_norm"]);
    expect(await tables.nth(0).locator("td.cell-fill").count()).toBe(4);
    expect(await tables.nth(1).locator("tbody tr").count()).toBe(4);
    expect(await shown(page.locator(".explain"))).toMatch(/replay: 4 tasks on \d+ workers, estimated/);
    await screenshot(page, "explain");
  });

  it("fills what past versions never logged from the page, following the job live until the curves appear", async () => {
    // Every epoch this time, for curves worth looking at.
    await typeQuery("SELECT tstamp, vid, epoch, val_acc, w2_norm FROM train.ts");
    await page.getByRole("button", { name: /^Run/ }).click();
    const missing = page.locator(".missing");
    await missing.waitFor({ timeout: 30_000 });
    expect(await shown(missing)).toContain("past versions never logged w2_norm");
    // Before the fill, the chart has no w2_norm to draw for any run.
    await page.getByRole("tab", { name: "table" }).click();
    expect(await page.locator("table.answer tbody tr").count()).toBe(16);
    expect(await page.locator("table.answer td.null").count()).toBe(16);

    const token = readFileSync(path.join(repo.dir, ".flor", "graphql-token"), "utf8").trim();
    await page.getByLabel(/token/).fill(token);
    await page.getByRole("button", { name: "Fill by replay" }).click();
    const status = page.locator("[data-job-status]");
    await status.waitFor({ timeout: 30_000 });
    await expect.poll(() => status.getAttribute("data-job-status"), { timeout: 120_000, interval: 200 }).toBe("DONE");
    expect(await shown(page.locator(".fill"))).toMatch(/4 of 4 tasks done, 16 values written/);
    // Once filled, nothing is missing any more.
    await expect.poll(() => missing.count(), { timeout: 20_000 }).toBe(0);
    // The answer was asked again as tasks finished: every row has its value now.
    await expect.poll(() => page.locator("table.answer td.null").count(), { timeout: 20_000 }).toBe(0);
    await page.getByRole("tab", { name: "chart" }).click();
    const chart = page.locator(".answer-chart .chart-canvas");
    await chart.waitFor();
    // Two measures (val_acc, w2_norm): the last is drawn, one curve per run.
    expect(await page.getByLabel("draw").inputValue()).toBe("w2_norm");
    expect(await chart.getAttribute("data-series")).toBe("4");
    await screenshot(page, "hindsight");

    // The token was asked once: kept for this tab.
    expect(await page.evaluate(() => sessionStorage.getItem("flor.token"))).toBe(token);
  });

  it("resumes a cut event stream with after: the last event it saw, missing none and repeating none", async () => {
    // A second value today's version logs and the past versions did not.
    const training = path.join(repo.dir, "training.ts");
    writeFileSync(
      training,
      readFileSync(training, "utf8").replace(HINDSIGHT_LOG, `${HINDSIGHT_LOG}\n    flor.log("b2_norm", Math.hypot(...model.params.b2));`),
    );
    const subscriptions: { id: number; after: string | null }[] = [];
    let firstStream: EventPayload[] = [];
    await page.route(`${origin}/graphql`, async (route) => {
      const request = route.request();
      if (!(request.headers()["accept"] ?? "").includes("text/event-stream")) return route.continue();
      subscriptions.push((JSON.parse(request.postData() ?? "{}") as { variables: { id: number; after: string | null } }).variables);
      if (subscriptions.length > 1) return route.continue();
      // The first stream is cut after its first two events, as a dropped connection ends it: the same
      // subscription, read from here up to its second event, is what the page gets.
      const messages = await readSse(await subscribe(request.postData() ?? ""), 2);
      firstStream = eventsOf(messages);
      await route.fulfill({
        status: 200,
        contentType: "text/event-stream",
        body: messages.map((m) => `event: ${m.event}\ndata: ${JSON.stringify(m.data)}\n\n`).join(""),
      });
    });
    try {
      await typeQuery("SELECT tstamp, vid, epoch, b2_norm FROM train.ts");
      await page.getByRole("button", { name: /^Run/ }).click();
      await page.locator(".missing").waitFor({ timeout: 30_000 });
      expect(await shown(page.locator(".missing"))).toContain("past versions never logged b2_norm");
      // The token is kept for the tab: not asked again.
      expect(await page.getByLabel(/token/).count()).toBe(0);
      await page.getByRole("button", { name: "Fill by replay" }).click();
      const status = page.locator("[data-job-status]");
      await expect.poll(() => status.getAttribute("data-job-status"), { timeout: 120_000, interval: 200 }).toBe("DONE");
      expect(firstStream).toHaveLength(2);
      const job = subscriptions[0]!.id;
      expect(subscriptions).toEqual([
        { id: job, after: null },
        { id: job, after: firstStream[1]!.id },
      ]);
      // Every event of the job was seen exactly once: two before the cut, the rest after it.
      const all = eventsOf(await readSse(await subscribe(JSON.stringify({ query: SUBSCRIBE, variables: { id: job } }))));
      expect(all.at(-1)!.kind).toBe("done");
      expect(await page.locator(".fill").getAttribute("data-events")).toBe(String(all.length));
      expect(await shown(page.locator(".fill"))).toMatch(/4 of 4 tasks done, 16 values written/);
      await expect.poll(() => page.locator("table.answer td.null").count(), { timeout: 20_000 }).toBe(0);
    } finally {
      await page.unrouteAll();
    }
  });

  it("sent every request to the server itself, none failed, and the console stayed clean", () => {
    expect(browser.requests.length).toBeGreaterThan(10);
    expect(browser.requests.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
    expect(browser.requests).toContain(`${origin}/dashboard/app.js`);
    // Requests the page cancelled itself (a view left, a filter changed) or a navigation cut short are not failures.
    expect(browser.failures.filter((failure) => !failure.endsWith("net::ERR_ABORTED"))).toEqual([]);
    expect(browser.errors).toEqual([]);
  });

  it("asks for the token first when the server listens beyond loopback, then opens", async () => {
    // The embedded store takes one server at a time: this one replaces the loopback one.
    await server.stop();
    server = await startServe(repo, ["--host", "0.0.0.0"]);
    const base = `http://127.0.0.1:${new URL(server.url).port}`;
    await page.goto(`${base}/`);
    const token = page.getByLabel(/token/);
    await token.waitFor({ timeout: 20_000 });
    expect(await page.locator("table.runs").count()).toBe(0);
    await token.fill(readFileSync(path.join(repo.dir, ".flor", "graphql-token"), "utf8").trim());
    await page.getByRole("button", { name: "Open" }).click();
    await expect.poll(() => page.locator("table.runs tbody tr").count(), { timeout: 20_000 }).toBe(4);
  });
});
