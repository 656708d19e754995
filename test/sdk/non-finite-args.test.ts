import { afterEach, describe, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";

const V1 = `import { flor } from "flordb";
const scale = flor.arg("scale", 1);
for (const epoch of flor.loop("epoch", 2)) {
  flor.log("x", epoch);
}
`;
const NEWEST = `import { flor } from "flordb";
const scale = flor.arg("scale", 1);
for (const epoch of flor.loop("epoch", 2)) {
  flor.log("x", epoch);
  flor.log("seen", String(scale * (epoch + 1)));
}
`;
const env = { FLOR_DATABASE_URL: "" };

describe("an arg given as NaN or an infinity", () => {
  let repo: TestRepo;
  afterEach(() => repo.remove());

  it("is recorded as given and replayed with it (issue 13: it was recorded as null and replayed as null)", () => {
    repo = TestRepo.create({ "train.mjs": V1 });
    for (const scale of ["Infinity", "NaN", "-1e999"]) expect(repo.runScript("train.mjs", ["--kwargs", `scale=${scale}`]).status).toBe(0);
    const runs = repo.flor(["runs"], env);
    expect(runs.status, runs.stderr).toBe(0);
    expect(runs.stdout).toContain("scale=Infinity");
    expect(runs.stdout).toContain("scale=NaN");
    expect(runs.stdout).toContain("scale=-Infinity");

    repo.write("train.mjs", NEWEST);
    const answer = repo.flor(["query", "SELECT epoch, seen FROM train.mjs ORDER BY tstamp, epoch", "--format", "json"], env);
    expect(answer.status, answer.stderr).toBe(0);
    expect((JSON.parse(answer.stdout) as { seen: string }[]).map((row) => row.seen)).toEqual([
      "Infinity",
      "Infinity",
      "NaN",
      "NaN",
      "-Infinity",
      "-Infinity",
    ]);
  }, 180_000);
});
