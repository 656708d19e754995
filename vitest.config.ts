import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Provides inject("pgUrl"): FLOR_TEST_DATABASE_URL, a throwaway PostgreSQL server, or null.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores, and each embedded PGlite instance takes ~800 MB: two worker processes at most.
    pool: "forks",
    maxWorkers: Math.max(1, Math.min(2, availableParallelism())),
  },
});
