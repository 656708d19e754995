import { builder } from "../builder.js";

export const ProjectRef = builder.objectRef<{ projid: string }>("Project").implement({
  description: "The git repository whose runs the store holds.",
  fields: (t) => ({
    projid: t.exposeString("projid", { description: "The repository's directory name." }),
  }),
});

builder.queryField("project", (t) => t.field({
  type: ProjectRef,
  resolve: (_root, _args, { layout }) => ({ projid: layout.projid }),
}));
