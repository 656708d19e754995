import type { FlorApi } from "./flor-api.js";
import type { OpenOptions } from "./project-session.js";

/**
 * FlorDB's API for the project around the working directory: through the `flor serve` that holds its
 * embedded store when one does (the store admits one process), else the project's session opened in
 * this process. The one place that chooses the transport; a store daemon would be chosen here too.
 */
export async function connectApi(options: OpenOptions): Promise<FlorApi> {
  // The remote path loads no database code or query language: only what talks GraphQL.
  const { RemoteApi } = await import("./remote-api.js");
  const remote = RemoteApi.find();
  if (remote !== null) return remote;
  const [{ LocalApi }, { ProjectSession }] = await Promise.all([import("./local-api.js"), import("./project-session.js")]);
  return new LocalApi(await ProjectSession.open(options));
}
