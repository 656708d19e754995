import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { FlorError, FlorUsageError } from "../../errors.js";
import { configuredToken, createFlorYoga, tokenFile } from "../../graphql/server.js";
import { withProject } from "../project-session.js";

export interface ServeOptions {
  port: number;
  host: string;
  workers: number;
}

/**
 * `flor serve`: the GraphQL API at http://host:port/graphql over the project's store, until SIGINT or
 * SIGTERM. Shutting down stops accepting requests, lets those in flight finish, then closes the store,
 * so the embedded database is never left mid-write.
 */
export async function serveCommand({ port, host, workers }: ServeOptions): Promise<string> {
  if (port > 65535) throw new FlorUsageError(`--port must be at most 65535, not ${port}`);
  return withProject("serve", async ({ layout, store }) => {
    let token = configuredToken(layout);
    if (token === null) {
      // Mutations need a token; without one configured, make one only this user can read.
      token = randomBytes(32).toString("base64url");
      mkdirSync(layout.florDir, { recursive: true });
      writeFileSync(tokenFile(layout), `${token}\n`, { mode: 0o600 });
      process.stderr.write(`flor: wrote a new GraphQL token for mutations to ${tokenFile(layout)} (send it as Authorization: Bearer <token>)\n`);
    }
    const server = createServer(createFlorYoga({ store, layout, workers, token }));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) => reject(new FlorError(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`)));
      server.listen(port, host, resolve);
    });
    const address = server.address() as AddressInfo;
    const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}/graphql`;
    process.stderr.write(`flor: serving GraphQL at ${url} (GraphiQL in a browser); Ctrl-C stops\n`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      // Both handlers go at the first signal, so a second Ctrl-C while requests drain exits at once.
      const stop = (received: NodeJS.Signals): void => {
        process.off("SIGINT", stop).off("SIGTERM", stop);
        resolve(received);
      };
      process.on("SIGINT", stop).on("SIGTERM", stop);
    });
    process.stderr.write(`flor: ${signal}: stopping\n`);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Idle keep-alive connections would hold close() open until the client goes away.
      server.closeIdleConnections();
    });
    return "";
  });
}
