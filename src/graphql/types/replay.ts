import { cancelJob, getJob } from "../../replay/replay-jobs.js";
import type { ReplayRequest } from "../../replay/replay-plan.js";
import { projectScope } from "../../florql/scope-predicate.js";
import { builder } from "../builder.js";
import { requireToken, startReplay } from "../replay-runner.js";
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
    resolve: (_root, { id }, { store }) => getJob(store.db, id),
  }),
}));

builder.mutationFields((t) => ({
  requestReplay: t.field({
    type: ReplayRequestResultRef,
    description:
      "Fills log names by replay, in the background; poll replayJob for progress. The same request while its job runs returns that job. Needs the bearer token.",
    args: {
      names: t.arg.stringList({ required: true, description: "Log names to fill." }),
      where: t.arg.string({ description: 'A FlorQL predicate limiting runs and outermost-loop iterations, e.g. "epoch >= 18".' }),
      script: t.arg.string({ description: "Only runs of this script (repository-relative)." }),
    },
    resolve: (_root, { names, where, script }, context) => {
      requireToken(context, "requestReplay");
      return asData(async () => {
        const request: ReplayRequest = {
          names,
          ...(script === null || script === undefined ? {} : { filename: script }),
          ...(where === null || where === undefined
            ? {}
            : { where: await projectScope(where, context.store, context.layout), whereText: where }),
        };
        return startReplay(context, request);
      });
    },
  }),
  cancelReplay: t.boolean({
    description: "Cancels a queued or running replay job; false when it had already ended or does not exist. Needs the bearer token.",
    args: { id: t.arg.int({ required: true }) },
    resolve: (_root, { id }, context) => {
      requireToken(context, "cancelReplay");
      return cancelJob(context.store.db, id);
    },
  }),
}));
