import { listProjects } from "../../store/queries/projects.js";
import { builder, type FlorContext } from "../builder.js";

interface ProjectNode {
  projid: string;
  runCount: number;
  firstRun: Date | null;
  lastRun: Date | null;
  served: boolean;
}

export const ProjectRef = builder.objectRef<ProjectNode>("Project").implement({
  description: "A git repository whose runs the store holds.",
  fields: (t) => ({
    projid: t.exposeString("projid", { description: "The repository's directory name." }),
    runCount: t.exposeInt("runCount", { description: "Runs recorded." }),
    firstRun: t.string({
      nullable: true,
      description: "ISO-8601 start of its first run.",
      resolve: (p) => p.firstRun?.toISOString() ?? null,
    }),
    lastRun: t.string({
      nullable: true,
      description: "ISO-8601 start of its latest run.",
      resolve: (p) => p.lastRun?.toISOString() ?? null,
    }),
    served: t.exposeBoolean("served", {
      description: "Whether this server answers for it: the other queries are about the repository flor serve runs in.",
    }),
  }),
});

builder.queryFields((t) => ({
  project: t.field({
    type: ProjectRef,
    nullable: true,
    description: "The project this server answers for.",
    resolve: async (_root, _args, context) =>
      (await projects(context)).find((p) => p.served) ?? {
        projid: context.session.project.projid,
        runCount: 0,
        firstRun: null,
        lastRun: null,
        served: true,
      },
  }),
  projects: t.field({
    type: [ProjectRef],
    nullable: true,
    description: "Every project in the store, by projid (a PostgreSQL store can hold several repositories' runs).",
    resolve: (_root, _args, context) => projects(context),
  }),
}));

async function projects({ session }: FlorContext): Promise<ProjectNode[]> {
  const served = session.project.projid;
  return (await listProjects(session.project.db)).map((p) => ({ ...p, served: p.projid === served }));
}
