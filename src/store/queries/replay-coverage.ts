import type { Kysely } from "kysely";
import type { Database, ReplayCoverageTable } from "../schema.js";

/** What replays filled (`replay_coverage`: parts of a run per name), so that nothing is replayed or stored twice. */

/** The names replay filled for a run (as opposed to those the run logged itself). */
export async function replayedNames(db: Kysely<Database>, runId: number): Promise<Set<string>> {
  return new Set(
    (await db.selectFrom("replay_coverage").select("name").distinct().where("run_id", "=", runId).execute()).map((r) => r.name),
  );
}

export type CoveredPart = Pick<ReplayCoverageTable, "name" | "part" | "iteration">;

/** The parts of a run that replays covered for these names. */
export async function coveredParts(db: Kysely<Database>, runId: number, names: readonly string[]): Promise<CoveredPart[]> {
  if (names.length === 0) return [];
  return db
    .selectFrom("replay_coverage")
    .select(["name", "part", "iteration"])
    .where("run_id", "=", runId)
    .where("name", "in", [...names])
    .execute();
}

/** Records covered parts and returns those that no earlier replay had covered (the ones this replay may store). */
export async function claimParts(db: Kysely<Database>, rows: readonly ReplayCoverageTable[]): Promise<CoveredPart[]> {
  const claimed: CoveredPart[] = [];
  for (let i = 0; i < rows.length; i += 5000) {
    claimed.push(
      ...(await db
        .insertInto("replay_coverage")
        .values(rows.slice(i, i + 5000))
        .onConflict((c) => c.columns(["run_id", "name", "part", "iteration"]).doNothing())
        .returning(["name", "part", "iteration"])
        .execute()),
    );
  }
  return claimed;
}
