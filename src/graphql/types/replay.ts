import { builder } from "../builder.js";
import { heavy } from "../heavy-work.js";
import { PLANNING_COST } from "../limits.js";
import { requireToken } from "../require-token.js";
import { asData, FlorqlErrorRef } from "./florql.js";
import { ReplayJobRef } from "./replay-job.js";

const ReplayRequestResultRef = builder.unionType("ReplayRequestResult", {
  types: [ReplayJobRef, FlorqlErrorRef],
  resolveType: (value) => ("kind" in value && value.kind === "error" ? FlorqlErrorRef : ReplayJobRef),
});

builder.queryFields((t) => ({
  replayJob: t.field({
    type: ReplayJobRef,
    nullable: true,
    description: "A replay job by id; null when there is none.",
    args: { id: t.arg.int({ required: true }) },
    resolve: (_root, { id }, { session }) => session.job(id),
  }),
}));

builder.mutationFields((t) => ({
  requestReplay: t.field({
    type: ReplayRequestResultRef,
    complexity: PLANNING_COST,
    description:
      "Fills log names by replay, in the background; poll replayJob for progress. The same request while its job runs returns that job. Needs the bearer token.",
    args: {
      names: t.arg.stringList({ required: true, description: "Log names to fill." }),
      where: t.arg.string({ description: 'A FlorQL predicate limiting runs and outermost-loop iterations, e.g. "epoch >= 18".' }),
      script: t.arg.string({ description: "Only runs of this script (repository-relative)." }),
    },
    resolve: (_root, { names, where, script }, context) => {
      requireToken(context, "requestReplay");
      return heavy(context, () =>
        asData(() => context.session.startReplay({ names, where: where ?? undefined, script: script ?? undefined })),
      );
    },
  }),
  cancelReplay: t.boolean({
    description: "Cancels a queued or running replay job; false when it had already ended or does not exist. Needs the bearer token.",
    args: { id: t.arg.int({ required: true }) },
    resolve: (_root, { id }, context) => {
      requireToken(context, "cancelReplay");
      return context.session.cancelReplay(id).then((outcome) => outcome.cancelled);
    },
  }),
}));
