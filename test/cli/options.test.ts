import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestRepo } from "../helpers/repo.js";

// None of these reaches the store: options are checked before a command opens anything.
let repo: TestRepo;
beforeAll(() => {
  repo = TestRepo.create();
});
afterAll(() => repo.remove());

const COMMANDS = ["runs", "versions", "dataframe", "ingest", "propagate", "query", "explain", "replay", "serve", "worker", "daemon"];

describe("the CLI's per-command options", () => {
  it("refuses options a command does not take with exit code 2, naming the options it takes", () => {
    const versions = repo.flor(["versions", "--port", "5", "--rebuild", "--dry-run", "--where", "x"]);
    expect(versions.status).toBe(2);
    expect(versions.stdout).toBe("");
    expect(versions.stderr).toBe(
      "flor: Unknown option '--port' for flor versions\nflor versions takes --format <format>; see `flor versions --help`.\n",
    );
    const ingest = repo.flor(["ingest", "--format", "json"]);
    expect(ingest.status).toBe(2);
    expect(ingest.stderr).toMatch(/^flor: Unknown option '--format' for flor ingest\nflor ingest takes --rebuild;/);
    const query = repo.flor(["query", "SELECT 1", "--dry-run"]);
    expect(query.status).toBe(2);
    expect(query.stderr).toMatch(/takes --replay <mode>, --no-replay, --format <format>, --workers <n>;/);
    // --job N is the job's report (and how background replays run).
    expect(repo.flor(["replay", "--verbose"]).stderr).toMatch(/--job <job>/);
  });

  it("prints each command's options with --help, and the list of commands with flor --help", () => {
    const query = repo.flor(["query", "--help"]);
    expect(query.status).toBe(0);
    expect(query.stdout).toMatch(/^Usage: flor query \[options\] <florql>/);
    for (const option of ["--replay <mode>", "--no-replay", "--format <format>", "--workers <n>", "-h, --help"])
      expect(query.stdout).toContain(option);
    for (const command of COMMANDS) {
      const help = repo.flor([command, "--help"]);
      expect({ command, status: help.status }).toEqual({ command, status: 0 });
      expect(help.stdout).toMatch(new RegExp(`^Usage: flor ${command} `));
    }
    expect(repo.flor(["help", "replay"]).stdout).toContain("--where <predicate>");
    const top = repo.flor(["--help"]);
    expect(top.status).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    expect(repo.flor([]).stdout).toBe(top.stdout);
    expect(repo.flor(["-v"]).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("keeps its usage errors for arguments and option values", () => {
    expect(repo.flor(["runs", "extra"])).toMatchObject({ status: 2, stderr: 'flor: flor runs takes no arguments, got "extra"\n' });
    expect(repo.flor(["explain"])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/^flor: flor explain takes one FlorQL query in quotes\n/),
    });
    expect(repo.flor(["query", "a", "b"]).status).toBe(2);
    expect(repo.flor(["query", "SELECT 1", "--replay", "later"])).toMatchObject({
      status: 2,
      stderr: 'flor: --replay must be wait, none or async, not "later"\n',
    });
    expect(repo.flor(["replay", "w1", "--workers", "many"])).toMatchObject({
      status: 2,
      stderr: 'flor: --workers must be an integer of at least 0, not "many"\n',
    });
    expect(repo.flor(["replay", "--where"]).status).toBe(2);
    expect(repo.flor(["daemon", "restart"])).toMatchObject({
      status: 2,
      stderr: 'flor: flor daemon takes start, status or stop, not "restart"\n',
    });
    expect(repo.flor(["daemon"]).status).toBe(2);
    expect(repo.flor(["daemon", "status", "--format", "csv"])).toMatchObject({
      status: 2,
      stderr: "flor: flor daemon prints text or --format json\n",
    });
  });
});
