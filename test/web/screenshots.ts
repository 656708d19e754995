import { copyFileSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { PACKAGE_ROOT } from "../helpers/repo.js";

/** Where the screenshots go (test-results/ is not committed). */
const SHOTS = path.join(PACKAGE_ROOT, "test-results", "dashboard");
/** The README's pictures: refreshed from a run with FLOR_UPDATE_SCREENSHOTS=1. */
const README_SHOTS = path.join(PACKAGE_ROOT, "docs", "screenshots");

/** Screenshots what the page shows (1280×800) as `<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  expect(statSync(file).size).toBeGreaterThan(10_000);
  if (process.env["FLOR_UPDATE_SCREENSHOTS"] === "1") {
    mkdirSync(README_SHOTS, { recursive: true });
    copyFileSync(file, path.join(README_SHOTS, `${name}.png`));
  }
}
