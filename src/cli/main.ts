import { once } from "node:events";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import type { Command, CommanderError } from "commander";
import { FlorError, FlorUsageError } from "../errors.js";
import { parseFormat, type CommandOutput } from "./output.js";

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
  replay --job N           replay job N's report (after running what is left of it): its summary, the runs
                           whose replays diverged from the recorded values (the likely cause, the replay
                           from the run's start and its outcome), and every divergence
  replay --cancel N        cancel replay job N: its queued tasks never start, running ones stop
  serve [--port 4000] [--host 127.0.0.1] [--workers N] [--cors-origin O] [--allowed-host H] [--public-url U]
                           the GraphQL API at http://host:port/graphql (GraphiQL in a browser) until
                           Ctrl-C; binds loopback unless --host says otherwise (then every request
                           needs the token); answers only its own Host names and origin unless named;
                           while it holds the embedded store, runs, versions, query, explain and
                           replay go through it
  worker [--workers N] [--idle-exit S]
                           run replay tasks queued on the PostgreSQL server (FLOR_DATABASE_URL), from
                           any machine with a clone of the repository and the .flor objects (FLOR_DIR)
  daemon start|status|stop the background process that holds the embedded store for commands: the
                           first command starts it, it exits when idle; status says who holds the
                           store, stop lets go of it

Options:
  --format table|json|csv  output format of runs, versions, dataframe, query and replay (default: table)
  -h, --help               this help; \`flor <command> --help\` lists a command's options
  -v, --version            the version

Environment:
  FLOR_DATABASE_URL        a PostgreSQL server (postgres://...) instead of the embedded store in .flor/
  FLOR_DIR                 where journals, checkpoint objects and the embedded store live (default .flor/)
  FLOR_NO_DAEMON=1         every command opens the embedded store itself (no daemon)
  FLOR_DAEMON_IDLE_SECONDS how long the daemon waits without commands or replays before it exits
                           (default 600)
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

const cores = availableParallelism();

/** Collects the values of a repeatable option. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** What the command run prints; set by its action. */
let output = "" as string | CommandOutput;
/** What commander prints itself: help and the version. */
let printed = "";

/**
 * The CLI: one command per verb, each with its own options. Commands and what they need are imported
 * when run: the query language's parser alone takes 0.4 s to load.
 */
async function program(): Promise<Command> {
  // Loaded only past the overview: `flor --help` stays as fast as printing text.
  const { Command, Option } = await import("commander");
  const format = () => new Option("--format <format>", "output format: table, json or csv (default: table)");
  const workersOption = (what: string) => new Option("--workers <n>", `${what} (default: the cores, ${cores})`);
  const flor = new Command("flor").configureOutput({
    writeOut: (text) => {
      printed += text;
    },
    writeErr: () => undefined,
  });
  flor.version((createRequire(import.meta.url)("../../package.json") as { version: string }).version, "-v, --version", "the version");
  const command = (name: string, description: string): Command => {
    const cmd = flor.command(name).description(description);
    return cmd.exitOverride((error) => usageError(cmd, error));
  };

  command("runs", "list recorded runs (tstamp, script, vid, status, args)")
    .addOption(format())
    .action(async (opts: { format?: string }) => {
      const outputFormat = parseFormat(opts.format);
      const [{ withApi }, { runsCommand }] = await Promise.all([import("./open-project.js"), import("./commands/runs.js")]);
      output = await withApi("runs", cores, (api) => runsCommand(api, outputFormat));
    });

  command("versions", "list the code versions that runs ran")
    .addOption(format())
    .action(async (opts: { format?: string }) => {
      const outputFormat = parseFormat(opts.format);
      const [{ withApi }, { versionsCommand }] = await Promise.all([import("./open-project.js"), import("./commands/versions.js")]);
      output = await withApi("versions", cores, (api) => versionsCommand(api, outputFormat));
    });

  command(
    "dataframe",
    "the pivot of logged values (and args) by run and loop dimensions; with no names: every run's args and top-level values",
  )
    .argument("[names...]", "logged names and args")
    .addOption(format())
    .action(async (names: string[], opts: { format?: string }) => {
      const outputFormat = parseFormat(opts.format);
      const [{ withStore }, { dataframeCommand }] = await Promise.all([import("./open-project.js"), import("./commands/dataframe.js")]);
      output = await withStore("dataframe", cores, (api) => dataframeCommand(api, names, outputFormat));
    });

  command("ingest", "load new journal records into the store (every command does this first)")
    .option("--rebuild", "forget the project's data in the store and read every journal again")
    .action(async (opts: { rebuild?: boolean }) => {
      const rebuild = opts.rebuild === true;
      const [{ withStore }, { ingestCommand }] = await Promise.all([import("./open-project.js"), import("./commands/ingest.js")]);
      // The ingest is the command: its problems are the report, not warnings.
      output = await withStore("ingest", cores, async (api) => ingestCommand(await api.ingest(rebuild), rebuild), {
        rebuild,
        onIngestProblem: () => undefined,
      });
    });

  command(
    "propagate",
    "inject the flor.log statements of the newest version of a script into an old version; exit code 3 when one is declined",
  )
    .option("--new <file>", "the newest version of the script")
    .option("--old <file>", "the old version to patch")
    .option("--json", "print the report ({ injected, declined, present, code }) instead of the patched code")
    .action(async (opts: { new?: string; old?: string; json?: boolean }) => {
      output = (await import("./commands/propagate.js")).propagateCommand(opts.new, opts.old, opts.json === true);
    });

  for (const verb of ["query", "explain"] as const) {
    const cmd = command(
      verb,
      verb === "query"
        ? "answer a FlorQL query over every version, filling values past versions never logged by replay (see the README's FlorQL reference)"
        : "the query's plan: run scope, which versions have each column, the replay tasks and their estimated cost, the SQL",
    ).argument("<florql>", "the query, in quotes");
    if (verb === "query")
      cmd
        .addOption(
          new Option("--replay <mode>", "fill missing values first (wait, the default), not at all (none) or in the background (async)"),
        )
        .addOption(new Option("--no-replay", "the same as --replay none"))
        .addOption(format());
    cmd
      .addOption(workersOption("replay workers, for planning and for running the replay"))
      .action(async (text: string, opts: { replay?: string | false; workers?: string; format?: string }) => {
        const replay = opts.replay === false ? "none" : (opts.replay ?? "wait");
        if (replay !== "wait" && replay !== "none" && replay !== "async")
          throw new FlorUsageError(`--replay must be wait, none or async, not "${replay}"`);
        const outputFormat = parseFormat(opts.format);
        const workers = count("--workers", opts.workers, 1) ?? cores;
        const [{ withApi }, { queryCommand }] = await Promise.all([import("./open-project.js"), import("./commands/query.js")]);
        output = await withApi(verb, workers, (api) =>
          queryCommand(api, text, { explain: verb === "explain", replay, format: outputFormat }),
        );
      });
  }

  command("replay", "fill log names in past runs by propagation and selective replay, from checkpoints")
    .argument("[names...]", "the log names to fill")
    .option("--where <predicate>", 'limit runs and iterations with a FlorQL predicate, e.g. "epoch >= 18 AND lr < 0.1"')
    .option("--script <file>", "only runs of this script (repository-relative)")
    .option("--dry-run", "print the plan and its estimate; run nothing")
    .addOption(workersOption("child processes at a time; 0 on a PostgreSQL server: only queue the tasks for flor worker"))
    .addOption(format())
    .option("--cancel <job>", "cancel replay job N: its queued tasks never start, running ones stop")
    // Also how a query's background replay runs (`flor query --replay async` starts it).
    .option(
      "--job <job>",
      "replay job N's report: what is left of it runs first, then its summary, the runs whose replays diverged, and the divergences",
    )
    .action(
      async (
        names: string[],
        opts: { where?: string; script?: string; dryRun?: boolean; workers?: string; format?: string; cancel?: string; job?: string },
      ) => {
        const outputFormat = parseFormat(opts.format);
        const replay = await import("./commands/replay.js");
        const { withApi, withStore } = await import("./open-project.js");
        const cancel = count("--cancel", opts.cancel, 1);
        if (cancel !== undefined) {
          if (names.length > 0 || opts.job !== undefined || opts.where !== undefined || opts.dryRun)
            throw new FlorUsageError("flor replay --cancel N takes no names or other replay options");
          output = await withApi("replay --cancel", cores, (api) => replay.cancelCommand(api, cancel));
          return;
        }
        const job = count("--job", opts.job, 1);
        const workers = count("--workers", opts.workers, 0) ?? cores;
        if (job !== undefined) {
          // Started by a command that still holds the embedded store until it exits.
          output = await withStore("replay", workers, (api) => replay.runJobCommand(api, job, outputFormat), {
            waitSeconds: 300,
          });
          return;
        }
        if (names.length === 0)
          throw new FlorUsageError("flor replay needs the log names to fill", 'Example: flor replay grad_norm --where "epoch >= 18"');
        const ask = { names, where: opts.where, script: opts.script };
        // A dry run prints the whole plan, which only the process holding the store has.
        output = opts.dryRun
          ? await withStore("replay", workers, (api) => replay.dryRunCommand(api, ask, outputFormat))
          : await withApi("replay", workers, (api) => replay.replayCommand(api, ask, outputFormat));
      },
    );

  command("serve", "the GraphQL API at http://host:port/graphql (GraphiQL in a browser) until Ctrl-C")
    .option("--port <port>", "the port; 0 picks a free one (default: 4000)")
    .option("--host <host>", "the address to bind; off loopback every request needs the token (default: 127.0.0.1)")
    .addOption(workersOption("replay tasks this server runs at a time"))
    .option("--cors-origin <origin>", "let web pages of this origin call the API (repeatable; default: none)", collect, [])
    .option("--allowed-host <host>", "answer requests for this Host name too, e.g. behind a proxy (repeatable)", collect, [])
    .option("--public-url <url>", "the address users reach this server at (a reverse proxy's); its host is allowed")
    .action(
      async (opts: { port?: string; host?: string; workers?: string; corsOrigin: string[]; allowedHost: string[]; publicUrl?: string }) => {
        output = await (await import("./commands/serve.js")).serveCommand({
          port: count("--port", opts.port, 0) ?? 4000,
          host: opts.host ?? "127.0.0.1",
          workers: count("--workers", opts.workers, 1) ?? cores,
          corsOrigins: opts.corsOrigin,
          allowedHosts: opts.allowedHost,
          publicUrl: opts.publicUrl ?? null,
        });
      },
    );

  command("worker", "run replay tasks queued on the PostgreSQL server (FLOR_DATABASE_URL)")
    .addOption(workersOption("tasks at a time"))
    .option("--idle-exit <seconds>", "exit once no task has been queued or running for this long")
    .action(async (opts: { workers?: string; idleExit?: string }) => {
      output = await (await import("./commands/worker.js")).workerCommand(
        count("--workers", opts.workers, 1) ?? cores,
        count("--idle-exit", opts.idleExit, 0),
      );
    });

  command("daemon", "the background process that holds the embedded store for commands: start, status or stop")
    .argument("<action>", "start, status or stop")
    .addOption(new Option("--format <format>", "output format: text or json (default: text)"))
    .action(async (action: string, opts: { format?: string }) => {
      if (action === "run") {
        // How a command starts the daemon: in the background, holding the store until idle.
        await (await import("../daemon/daemon-process.js")).runDaemon();
        return;
      }
      if (action !== "start" && action !== "status" && action !== "stop")
        throw new FlorUsageError(`flor daemon takes start, status or stop, not "${action}"`);
      const format = opts.format === "text" ? "table" : parseFormat(opts.format);
      output = await (await import("./commands/daemon.js")).daemonCommand(action, format);
    });

  // After the commands: they keep commander's help, which lists their options.
  flor.configureHelp({ formatHelp: () => HELP });
  return flor.exitOverride((error) => usageError(flor, error));
}

/** Commander's complaints as FlorDB's usage errors (exit code 2), naming what the command takes. */
function usageError(cmd: Command, error: CommanderError): never {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") throw error;
  const name = cmd.parent === null ? "flor" : `flor ${cmd.name()}`;
  const message = error.message.replace(/^error: /, "");
  switch (error.code) {
    case "commander.unknownCommand":
      throw new FlorUsageError(`unknown command "${cmd.args[0]}"`, "Run `flor --help` for the list of commands.");
    case "commander.unknownOption": {
      const flag = /'([^']*)'/.exec(message)?.[1] ?? message;
      const options = cmd.options.filter((o) => !o.hidden).map((o) => o.flags);
      throw new FlorUsageError(
        `Unknown option '${flag}' for ${name}`,
        options.length === 0 ? `${name} takes no options.` : `${name} takes ${options.join(", ")}; see \`${name} --help\`.`,
      );
    }
    case "commander.missingArgument":
    case "commander.excessArguments":
      if (cmd.name() === "query" || cmd.name() === "explain")
        throw new FlorUsageError(
          `${name} takes one FlorQL query in quotes`,
          `Example: ${name} "SELECT epoch, loss FROM train.ts WHERE epoch >= 18"`,
        );
      if (cmd.registeredArguments.length === 0) throw new FlorUsageError(`${name} takes no arguments, got "${cmd.args.join(" ")}"`);
      throw new FlorUsageError(message, `See \`${name} --help\`.`);
    default:
      throw new FlorUsageError(message, `See \`${name} --help\`.`);
  }
}

// A reader that stops early (`flor dataframe | head`) closes the pipe: the output is no longer wanted, so
// the command ends quietly instead of with an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? 0);
  });

try {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || (argv.length === 1 && ["--help", "-h", "help"].includes(argv[0]!))) output = HELP;
  else
    await (await program()).parseAsync(argv, { from: "user" }).catch((error: unknown) => {
      // Help and the version end parsing early; what they print is the output.
      if ((error as Partial<CommanderError>).code?.startsWith("commander.") && (error as CommanderError).exitCode === 0) output = printed;
      else throw error;
    });
  if (typeof output === "string") process.stdout.write(output);
  else {
    // A pipe whose reader is slower than the answer: wait for it, rather than queue the whole text in memory.
    const pieces = typeof output.stdout === "string" ? [output.stdout] : output.stdout;
    for await (const piece of pieces) if (!process.stdout.write(piece)) await once(process.stdout, "drain");
    process.stderr.write(output.stderr);
    process.exitCode = output.exitCode;
  }
} catch (error) {
  if (error instanceof FlorError) {
    process.stderr.write(`flor: ${error.message}\n${error.hint === undefined ? "" : `${error.hint}\n`}`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(
      `flor: internal error: ${(error as Error).message}\n${process.env["FLOR_DEBUG"] ? `${(error as Error).stack}\n` : "Set FLOR_DEBUG=1 for details.\n"}`,
    );
    process.exitCode = 1;
  }
}
