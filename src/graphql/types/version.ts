import { diffBetween, MAX_SOURCE_BYTES, sourceAt } from "../../versions/version-source.js";
import type { CodeVersion } from "../../versions/versions.js";
import { builder, type FlorContext } from "../builder.js";
import { heavy } from "../heavy-work.js";
import { GIT_COST } from "../limits.js";
import { withUserErrors } from "../user-errors.js";
import { badInput } from "./page-info.js";

const VID_HELP = "A commit id, or a prefix of at least 4 hex digits naming one version that runs ran.";

export const VersionRef = builder.objectRef<CodeVersion>("Version").implement({
  description: "A code version (git commit or flor snapshot) that runs ran.",
  fields: (t) => ({
    vid: t.exposeString("vid"),
    kind: t.exposeString("kind", { description: "commit, snapshot (uncommitted changes) or missing (not in this clone)." }),
    base: t.exposeString("base", { nullable: true, description: "For a snapshot, the user's commit it was taken on." }),
    committedAt: t.exposeString("committedAt", { nullable: true, description: "ISO-8601 commit time of a committed version." }),
    message: t.exposeString("message", { nullable: true }),
    firstRun: t.exposeString("firstRun", { description: "ISO-8601 time of the version's first run." }),
    lastRun: t.exposeString("lastRun"),
    runs: t.exposeInt("runs"),
    filenames: t.exposeStringList("filenames"),
    source: t.string({
      nullable: true,
      complexity: GIT_COST,
      description: `The text of a file in this version; null when the version has no such file. Paths are relative to the repository root, without "." or ".." parts (BAD_USER_INPUT otherwise); directories, binary files and files over ${MAX_SOURCE_BYTES} bytes are refused; VERSION_MISSING when the commit is not in this clone.`,
      args: { filename: t.arg.string({ required: true }) },
      resolve: (version, { filename }, context) =>
        heavy(context, () => withUserErrors(() => sourceAt(context.session.layout.root, version.vid, filename))),
    }),
  }),
});

builder.queryFields((t) => ({
  versions: t.field({
    type: [VersionRef],
    nullable: true,
    complexity: GIT_COST,
    description: "The code versions the project's runs ran, oldest first.",
    resolve: (_root, _args, context) => heavy(context, () => context.session.versions()),
  }),
  version: t.field({
    type: VersionRef,
    nullable: true,
    description: "One version the project's runs ran; null when none ran it.",
    args: { vid: t.arg.string({ required: true, description: VID_HELP }) },
    resolve: (_root, { vid }, context) =>
      withUserErrors(async () => {
        const full = await context.session.resolveVersion(vid);
        return full === null ? null : ((await versionsByVid(context, [full])).get(full) ?? null);
      }),
  }),
  diff: t.string({
    nullable: true,
    complexity: GIT_COST,
    description: `The unified diff from one version to another (of one file when filename is given); "" when they do not differ. Refused over ${MAX_SOURCE_BYTES} bytes.`,
    args: {
      from: t.arg.string({ required: true, description: VID_HELP }),
      to: t.arg.string({ required: true, description: VID_HELP }),
      filename: t.arg.string({
        required: false,
        description: "A path relative to the repository root; an error when neither version has it.",
      }),
    },
    resolve: (_root, { from, to, filename }, context) =>
      heavy(context, () =>
        withUserErrors(async () => {
          const { layout } = context.session;
          const recorded = async (text: string): Promise<string> => {
            const vid = await context.session.resolveVersion(text);
            if (vid === null) throw badInput(`no run of ${layout.projid} ran a version ${text}`);
            return vid;
          };
          return diffBetween(layout.root, await recorded(from), await recorded(to), filename ?? null);
        }),
      ),
  }),
}));

/** The versions with these vids that the project's runs ran, described from git; for batching. */
export async function versionsByVid({ session }: FlorContext, vids: readonly string[]): Promise<Map<string, CodeVersion>> {
  return new Map((await session.versions(vids)).map((v) => [v.vid, v]));
}
