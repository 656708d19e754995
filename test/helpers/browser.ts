import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian's chromium package puts the browser; FLOR_TEST_CHROMIUM names another. */
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

function findChromium(): string | null {
  const given = process.env["FLOR_TEST_CHROMIUM"];
  if (given !== undefined && given !== "") {
    if (!existsSync(given)) throw new Error(`FLOR_TEST_CHROMIUM=${given}: no such file`);
    return given;
  }
  const found = CANDIDATES.find((candidate) => existsSync(candidate)) ?? null;
  if (found === null) {
    // CI installs it (.ci/run): there a missing browser is a failure, not a reason to skip.
    if (process.env["CI"]) throw new Error("Chromium is not installed: .ci/run installs Debian's chromium package with apt-get");
    console.warn("warning: Chromium is not installed (apt-get install chromium), so the browser tests will be skipped");
  }
  return found;
}

/** The Chromium the browser tests drive, or null when none is installed (they skip, with a warning). */
export const CHROMIUM: string | null = findChromium();

export interface BrowserOptions {
  /**
   * Names the browser resolves to 127.0.0.1 (e.g. a page's "other site"). Other than these and
   * loopback, nothing is reachable: the network is off.
   */
  hosts?: readonly string[];
}

export interface OpenBrowser {
  context: BrowserContext;
  /** A new page whose console errors and uncaught exceptions are collected in `errors`. */
  page(): Promise<Page>;
  /** Every URL requested so far, by pages and their workers, in order. */
  requests: string[];
  /** Requests that failed (refused, blocked, unreachable), as "url: reason". */
  failures: string[];
  /** Console errors and uncaught exceptions of the pages. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Headless Chromium (Debian's package, driven by playwright-core; never a downloaded browser) with a
 * fresh profile and the network off: only loopback is reachable. Tests of pages `flor serve` ships use
 * it to check that everything a page needs comes from the server itself.
 */
export async function openBrowser({ hosts = [] }: BrowserOptions = {}): Promise<OpenBrowser> {
  if (CHROMIUM === null) throw new Error("no Chromium: skip browser tests with describe.skipIf(!CHROMIUM)");
  const profile = mkdtempSync(path.join(tmpdir(), "flor-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Every request goes to a proxy on a port where nothing listens, but those to loopback (which
      // bypass a proxy) and to the names mapped to it.
      "--proxy-server=http://127.0.0.1:9",
      ...(hosts.length === 0
        ? []
        : [`--host-resolver-rules=${hosts.map((host) => `MAP ${host} 127.0.0.1`).join(", ")}`, `--proxy-bypass-list=${hosts.join(";")}`]),
    ],
    viewport: { width: 1280, height: 800 },
  });
  const requests: string[] = [];
  const failures: string[] = [];
  const errors: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  context.on("requestfailed", (request) => failures.push(`${request.url()}: ${request.failure()?.errorText ?? "failed"}`));
  return {
    context,
    requests,
    failures,
    errors,
    async page() {
      const page = await context.newPage();
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(error.message));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
