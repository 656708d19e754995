import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** A PostgreSQL server: FLOR_BENCH_DATABASE_URL, or a throwaway one when PostgreSQL is installed. */
export function postgresServer(): { url: string; stop(): void } | null {
  const given = process.env["FLOR_BENCH_DATABASE_URL"];
  if (given) return { url: given, stop: () => undefined };
  const script = path.join(here, "../scripts/throwaway-postgres.sh");
  const dir = mkdtempSync(path.join(tmpdir(), "flor-bench-pg-"));
  try {
    const url = execFileSync("bash", [script, "start", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return { url, stop: () => execFileSync("bash", [script, "stop", dir], { stdio: "ignore" }) };
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}
