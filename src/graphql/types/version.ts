import { listVersions, type CodeVersion } from "../../versions/versions.js";
import { builder } from "../builder.js";

const VersionRef = builder.objectRef<CodeVersion>("Version").implement({
  description: "A code version (git commit or flor snapshot) that runs ran.",
  fields: (t) => ({
    vid: t.exposeString("vid"),
    base: t.exposeString("base", { nullable: true, description: "For a snapshot, the user's commit it was taken on." }),
    committedAt: t.exposeString("committedAt", { nullable: true, description: "ISO-8601 commit time of a committed version." }),
    kind: t.exposeString("kind", { description: "commit, snapshot (uncommitted changes) or missing (not in this clone)." }),
    message: t.exposeString("message", { nullable: true }),
    firstRun: t.exposeString("firstRun", { description: "ISO-8601 time of the version's first run." }),
    lastRun: t.exposeString("lastRun"),
    runs: t.exposeInt("runs"),
    filenames: t.exposeStringList("filenames"),
  }),
});

builder.queryField("versions", (t) => t.field({
  type: [VersionRef],
  description: "The code versions the project's runs ran, oldest first.",
  resolve: (_root, _args, { store, layout }) => listVersions(store, layout.projid, layout.root),
}));
