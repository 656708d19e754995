import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Provides inject("pgUrl"): FLOR_TEST_DATABASE_URL, a throwaway PostgreSQL server, or null.
    globalSetup: ["test/global-setup.ts"],
    // Commands in tests go through the flor daemon, which exits soon after a test stops using it (and at
    // once when its repository is removed), so the suite leaves no daemon behind.
    env: { FLOR_DAEMON_IDLE_SECONDS: "15" },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores, and each embedded PGlite instance takes ~800 MB: two worker processes at most.
    pool: "forks",
    maxWorkers: Math.max(1, Math.min(2, availableParallelism())),
  },
});
