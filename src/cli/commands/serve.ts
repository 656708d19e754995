import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { FlorError, FlorUsageError } from "../../errors.js";
import { AllowedHosts, checkedAllowedHost } from "../../graphql/allowed-hosts.js";
import { checkedOrigin } from "../../graphql/browser-guards.js";
import { configuredTimeoutSeconds } from "../../graphql/limits.js";
import { createFlorYoga, readsAreOpenOn } from "../../graphql/server.js";
import { configuredToken, tokenFile } from "../../graphql/token.js";
import type { ProjectSession } from "../../app/project-session.js";
import type { ProjectLayout } from "../../project-layout.js";
import { discoveryFile, type ServeInfo } from "../../app/serve-client.js";
import { withSession } from "../open-project.js";
import { serveDaemonSocket } from "../../daemon/serve-socket.js";
import { storeIngests } from "../../daemon/store-ingests.js";

/** How long requests in flight (and event streams) get to finish after a stop signal. */
const DRAIN_SECONDS = 5;

export interface ServeOptions {
  port: number;
  host: string;
  workers: number;
  /** Origins whose web pages may call the API (CORS); none by default. */
  corsOrigins?: readonly string[];
  /** More Host values to answer, e.g. a reverse proxy's name. */
  allowedHosts?: readonly string[];
  /** Where users reach the server (a reverse proxy): its host is answered and its origin is the server's own. */
  publicUrl?: string | null;
}

/** The browser-facing settings, checked before the store is touched. */
interface Exposure {
  corsOrigins: string[];
  namedHosts: string[];
  publicUrl: URL | null;
}

/**
 * `flor serve`: the GraphQL API at http://host:port/graphql over the project's store, until SIGINT or
 * SIGTERM. Shutting down stops accepting requests, lets those in flight finish, then closes the store,
 * so the embedded database is never left mid-write. Journals written meanwhile are ingested before the
 * next request; `<florDir>/serve.json` tells the CLI's commands where to ask while this holds the store.
 */
export async function serveCommand({ port, host, workers, ...options }: ServeOptions): Promise<string> {
  if (port > 65535) throw new FlorUsageError(`--port must be at most 65535, not ${port}`);
  // Configuration mistakes stop it before it touches anything (the store, the token file).
  const timeoutSeconds = configuredTimeoutSeconds();
  const exposure = checkedExposure(options);
  return withSession("serve", workers, (session) => serve(session, { port, host, workers }, exposure, timeoutSeconds), {
    lifetime: "server",
  });
}

function checkedExposure({
  corsOrigins = [],
  allowedHosts = [],
  publicUrl = null,
}: Pick<ServeOptions, "corsOrigins" | "allowedHosts" | "publicUrl">): Exposure {
  let url: URL | null = null;
  if (publicUrl !== null) {
    try {
      url = new URL(publicUrl);
    } catch {
      throw new FlorUsageError(`--public-url ${publicUrl}: not a URL such as https://flor.example.org/`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new FlorUsageError(`--public-url ${publicUrl}: must be http or https`);
  }
  return {
    corsOrigins: corsOrigins.map(checkedOrigin),
    namedHosts: [...allowedHosts.map(checkedAllowedHost), ...(url === null ? [] : [url.host])],
    publicUrl: url,
  };
}

async function serve(
  session: ProjectSession,
  { port, host, workers }: ServeOptions,
  exposure: Exposure,
  timeoutSeconds: number,
): Promise<string> {
  const { layout, store } = session;
  let token = configuredToken(layout);
  if (token === null) {
    // Mutations need a token; without one configured, make one only this user can read.
    token = randomBytes(32).toString("base64url");
    mkdirSync(layout.florDir, { recursive: true });
    writeFileSync(tokenFile(layout), `${token}\n`, { mode: 0o600 });
    process.stderr.write(
      `flor: wrote a new GraphQL token for mutations to ${tokenFile(layout)} (send it as Authorization: Bearer <token>)\n`,
    );
  }
  // One ingest at a time, whether GraphQL or a command through the daemon's socket asks.
  const ingests = storeIngests(session.project, layout, (problem) => process.stderr.write(`flor: warning: ${problem}\n`));
  const refresh = () => ingests.refresh();
  // Knows which journals can still change before the first request asks.
  await refresh();
  const stopping = new AbortController();
  // The Host check needs the port, which --port 0 leaves to the system: set once listening.
  let allowedHosts: AllowedHosts | null = null;
  const yoga = createFlorYoga({
    session,
    token,
    refresh,
    timeoutSeconds,
    stopping: stopping.signal,
    openReads: readsAreOpenOn(host),
    allowedHosts: { allows: (name) => allowedHosts?.allows(name) ?? false },
    corsOrigins: exposure.corsOrigins,
    ownOrigins: exposure.publicUrl === null ? [] : [exposure.publicUrl.origin],
  });
  const server = createServer(yoga);
  // Replays a previous server (or a killed flor replay) left unfinished go on here; on a PostgreSQL
  // server, this one works the job queue alongside any `flor worker`.
  for (const job of await session.executor.resume()) process.stderr.write(`flor: resuming replay job ${job}\n`);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new FlorError(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`)),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  allowedHosts = new AllowedHosts(host, address.port, exposure.namedHosts);
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}/graphql`;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    // Both handlers go at the first signal, so a second Ctrl-C while requests drain exits at once.
    const stop = (received: NodeJS.Signals): void => {
      process.off("SIGINT", stop).off("SIGTERM", stop);
      resolve(received);
    };
    process.on("SIGINT", stop).on("SIGTERM", stop);
  });
  // Commands reach the embedded store through this server's daemon socket (ingest and dataframe too).
  const socket = store.kind === "pglite" ? await serveDaemonSocket(session, ingests) : null;
  try {
    // Only the embedded store keeps other processes out; on a PostgreSQL server every command opens it itself.
    if (store.kind === "pglite")
      advertise(layout, { url: loopbackUrl(address), pid: process.pid, host: hostname(), started: new Date().toISOString() });
    if (session.executor.kind === "queue")
      process.stderr.write(
        `flor: replays go through the job queue on the PostgreSQL server; this server works ${workers} task(s) at a time, alongside any flor worker\n`,
      );
    if (!readsAreOpenOn(host)) process.stderr.write(`flor: ${host} is not loopback: every request needs the bearer token, reads too\n`);
    if (exposure.publicUrl !== null) process.stderr.write(`flor: public URL ${exposure.publicUrl.href}\n`);
    if (exposure.corsOrigins.length > 0) process.stderr.write(`flor: web pages of ${exposure.corsOrigins.join(", ")} may call the API\n`);
    process.stderr.write(`flor: dashboard at ${new URL("/", url).href}\n`);
    process.stderr.write(`flor: serving GraphQL at ${url} (GraphiQL in a browser); Ctrl-C stops\n`);
    process.stderr.write(`flor: ${await stopped}: stopping\n`);
  } finally {
    // New commands stop coming here before the server stops accepting them.
    withdraw(layout);
    const socketClosed = socket?.close(DRAIN_SECONDS);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Idle keep-alive connections would hold close() open until the client goes away.
    server.closeIdleConnections();
    // Replays stop first (their tasks go back to the queue for the next start), so WAIT requests answer;
    // tasks this server took from the queue finish (or, after 30 s, go back to it for another worker).
    await session.executor.stop();
    // Event streams never end by themselves: they end now, telling their clients to resume with `after`.
    stopping.abort();
    const grace = setTimeout(() => server.closeAllConnections(), DRAIN_SECONDS * 1000);
    await closed;
    await socketClosed;
    clearTimeout(grace);
  }
  return "";
}

/** Where commands on this host reach the server: bound to every address, it is on loopback too. */
function loopbackUrl({ address, family, port }: AddressInfo): string {
  const host = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "[::1]" : family === "IPv6" ? `[${address}]` : address;
  return `http://${host}:${port}/graphql`;
}

/** Writes the discovery file whole (a reader never sees half of it), readable by this user only. */
function advertise(layout: ProjectLayout, info: ServeInfo): void {
  const file = discoveryFile(layout);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** Removes the discovery file if it is still this process's (another server may have replaced a stale one). */
function withdraw(layout: ProjectLayout): void {
  const file = discoveryFile(layout);
  try {
    if ((JSON.parse(readFileSync(file, "utf8")) as Partial<ServeInfo>).pid === process.pid) rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}
