import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import { FlorError, FlorUsageError } from "../errors.js";
import { parseFormat, type CommandOutput } from "./output.js";
import { availableParallelism } from "node:os";

const HELP = `flor: multiversion hindsight logging

Usage: flor <command> [options]

Commands:
  runs                     list recorded runs (tstamp, script, vid, status, args)
  versions                 list the code versions that runs ran
  dataframe [names...]     the pivot of logged values (and args) by run and loop dimensions;
                           with no names: every run's args and top-level values
  ingest [--rebuild]       load new journal records into the store (every command does this first);
                           --rebuild forgets the store's data and reads every journal again
  propagate --new <file> --old <file> [--json]
                           inject the flor.log statements of the newest version of a script into an
                           old version; prints the patched old version (or, with --json, the report);
                           exit code 3 when a statement had to be declined (reasons on stderr)
  query "<florql>" [--replay wait|none|async] [--no-replay] [--workers N]
                           answer a FlorQL query over every version (see the README's FlorQL reference);
                           values that past versions never logged are filled by replay first (wait, the
                           default), left empty (none, or --no-replay), or filled in the background
                           (async)
  explain "<florql>"       the query's plan: run scope, which versions have each column, the replay
                           tasks and their estimated cost, the SQL
  replay <names...> [--where <predicate>] [--script <file>] [--dry-run] [--workers N]
                           fill log names in past runs: propagate the newest version's statements
                           into each run's code version and re-execute only the iterations needed,
                           from checkpoints, N child processes at a time (default: the cores);
                           --where limits runs and iterations with a FlorQL predicate (e.g.
                           "epoch >= 18 AND lr < 0.1"); --dry-run prints the plan and its estimate
  replay --cancel N        cancel replay job N: its queued tasks never start, running ones stop
  serve [--port 4000] [--host 127.0.0.1] [--workers N]
                           the GraphQL API at http://host:port/graphql (GraphiQL in a browser) until
                           Ctrl-C; binds loopback unless --host says otherwise (then every request
                           needs the token); while it holds the embedded store, runs, versions, query,
                           explain and replay go through it
  worker [--workers N] [--idle-exit S]
                           run replay tasks queued on the PostgreSQL server (FLOR_DATABASE_URL), from
                           any machine with a clone of the repository and the .flor objects (FLOR_DIR)

Options:
  --format table|json|csv  output format (default: table)
  -h, --help               this help
  -v, --version            the version

Environment:
  FLOR_DATABASE_URL        a PostgreSQL server (postgres://...) instead of the embedded store in .flor/
  FLOR_DIR                 where journals, checkpoint objects and the embedded store live (default .flor/)
  FLOR_GRAPHQL_TOKEN       the bearer token of flor serve (default: .flor/graphql-token, made when missing)
  FLOR_GRAPHQL_TIMEOUT_SECONDS
                           how long a GraphQL query or mutation may run (default 30)

Exit codes: 0 ok, 1 error, 2 usage, 3 declined (propagate).
`;

/** A non-negative integer option of at least `min`, or undefined when absent. */
function count(option: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new FlorUsageError(`${option} must be an integer of at least ${min}, not "${text}"`);
  return value;
}

async function run(argv: string[]): Promise<string | CommandOutput> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: "string" },
      rebuild: { type: "boolean" },
      new: { type: "string" },
      old: { type: "string" },
      json: { type: "boolean" },
      where: { type: "string" },
      script: { type: "string" },
      "dry-run": { type: "boolean" },
      workers: { type: "string" },
      "idle-exit": { type: "string" },
      job: { type: "string" },
      cancel: { type: "string" },
      replay: { type: "string" },
      "no-replay": { type: "boolean" },
      port: { type: "string" },
      host: { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) return `${(createRequire(import.meta.url)("../../package.json") as { version: string }).version}\n`;
  if (values.help || command === undefined || command === "help") return HELP;
  const format = parseFormat(values.format);
  const noArguments = (): void => {
    if (rest.length > 0) throw new FlorUsageError(`flor ${command} takes no arguments, got "${rest.join(" ")}"`);
  };
  const cores = availableParallelism();
  const open = await import("./open-project.js");
  switch (command) {
    // Commands are imported when used: the query language's parser alone takes 0.4 s to load.
    case "runs": {
      noArguments();
      const { runsCommand } = await import("./commands/runs.js");
      return open.withApi("runs", cores, (api) => runsCommand(api, format));
    }
    case "versions": {
      noArguments();
      const { versionsCommand } = await import("./commands/versions.js");
      return open.withApi("versions", cores, (api) => versionsCommand(api, format));
    }
    case "ingest": {
      noArguments();
      const rebuild = values.rebuild === true;
      const { ingestCommand } = await import("./commands/ingest.js");
      return open.withSession("ingest", cores, async (session) => ingestCommand(session.ingested!, rebuild), {
        rebuild,
        onIngestProblem: () => undefined,
      });
    }
    case "dataframe": {
      const { dataframeCommand } = await import("./commands/dataframe.js");
      return open.withSession("dataframe", cores, (session) => dataframeCommand(session, rest, format));
    }
    case "propagate":
      noArguments();
      return (await import("./commands/propagate.js")).propagateCommand(values.new, values.old, values.json === true);
    case "replay": {
      const replay = await import("./commands/replay.js");
      const cancel = count("--cancel", values.cancel, 1);
      if (cancel !== undefined) {
        if (rest.length > 0 || values.job !== undefined || values.where !== undefined || values["dry-run"])
          throw new FlorUsageError("flor replay --cancel N takes no names or other replay options");
        return open.withApi("replay --cancel", cores, (api) => replay.cancelCommand(api, cancel));
      }
      const job = count("--job", values.job, 1);
      const workers = count("--workers", values.workers, 0) ?? cores;
      if (job !== undefined)
        return open.withSession("replay", workers, (session) => replay.runJobCommand(session, job, format), { waitSeconds: 300 });
      if (rest.length === 0)
        throw new FlorUsageError("flor replay needs the log names to fill", 'Example: flor replay grad_norm --where "epoch >= 18"');
      const ask = { names: rest, where: values.where, script: values.script };
      // A dry run prints the whole plan, which the API does not return: it needs the store here.
      return values["dry-run"]
        ? open.withSession("replay", workers, (session) => replay.dryRunCommand(session, ask, format))
        : open.withApi("replay", workers, (api) => replay.replayCommand(api, ask, format));
    }
    case "query":
    case "explain": {
      if (rest.length !== 1)
        throw new FlorUsageError(
          `flor ${command} takes one FlorQL query in quotes`,
          `Example: flor ${command} "SELECT epoch, loss FROM train.ts WHERE epoch >= 18"`,
        );
      const replay = values["no-replay"] ? "none" : (values.replay ?? "wait");
      if (replay !== "wait" && replay !== "none" && replay !== "async")
        throw new FlorUsageError(`--replay must be wait, none or async, not "${replay}"`);
      const workers = count("--workers", values.workers, 1) ?? cores;
      const { queryCommand } = await import("./commands/query.js");
      return open.withApi(command, workers, (api) => queryCommand(api, rest[0]!, { explain: command === "explain", replay, format }));
    }
    case "serve":
      noArguments();
      return (await import("./commands/serve.js")).serveCommand({
        port: count("--port", values.port, 0) ?? 4000,
        host: values.host ?? "127.0.0.1",
        workers: count("--workers", values.workers, 1) ?? cores,
      });
    case "worker":
      noArguments();
      return (await import("./commands/worker.js")).workerCommand(
        count("--workers", values.workers, 1) ?? cores,
        count("--idle-exit", values["idle-exit"], 0),
      );
    default:
      throw new FlorUsageError(`unknown command "${command}"`, "Run `flor --help` for the list of commands.");
  }
}

try {
  const output = await run(process.argv.slice(2));
  if (typeof output === "string") process.stdout.write(output);
  else {
    process.stdout.write(output.stdout);
    process.stderr.write(output.stderr);
    process.exitCode = output.exitCode;
  }
} catch (error) {
  if (error instanceof FlorError) {
    process.stderr.write(`flor: ${error.message}\n${error.hint === undefined ? "" : `${error.hint}\n`}`);
    process.exitCode = error.exitCode;
  } else if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`flor: ${(error as Error).message}\nRun \`flor --help\` for usage.\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(
      `flor: internal error: ${(error as Error).message}\n${process.env["FLOR_DEBUG"] ? `${(error as Error).stack}\n` : "Set FLOR_DEBUG=1 for details.\n"}`,
    );
    process.exitCode = 1;
  }
}
