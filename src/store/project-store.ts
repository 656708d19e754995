import type { Store } from "./open-store.js";
import type { ProjectScope } from "./project-scope.js";
import { ensureProject } from "./queries/projects.js";

/** An open store bound to one project: its id is looked up once, when the project is opened. */
export interface ProjectStore extends ProjectScope {
  store: Store;
  projid: string;
}

/** Binds `store` to the project `projid` (creating the project's row when the store has none). */
export async function bindProject(store: Store, projid: string, projectId?: number): Promise<ProjectStore> {
  return { store, db: store.db, projid, projectId: projectId ?? (await ensureProject(store.db, projid)) };
}
