import { FlorUsageError } from "../errors.js";
import type { ProjectScope } from "../store/project-scope.js";
import { vidsWithPrefix } from "../store/queries/runs.js";
import { CONTROL_CHARACTERS } from "../text/control-characters.js";

/** How a version may be named: its commit id, or a prefix of it of at least 4 hex digits. */
const VID_TEXT = /^[0-9a-f]{4,64}$/i;

/**
 * The recorded vid of the project's runs that `text` names; null when no run ran it. A prefix that
 * names two versions is refused, and text that is not hex never reaches the store or git.
 */
export async function resolveRecordedVid(project: ProjectScope, text: string): Promise<string | null> {
  if (!VID_TEXT.test(text))
    throw new FlorUsageError(
      `"${text.replace(CONTROL_CHARACTERS, "?")}" is not a version id: give a commit id or a prefix of at least 4 hex digits`,
    );
  const prefix = text.toLowerCase();
  const vids = await vidsWithPrefix(project, prefix);
  if (vids.length > 1)
    throw new FlorUsageError(
      `version ${text} is ambiguous: it begins ${vids.map((vid) => vid.slice(0, 12)).join(" and ")}; give more digits`,
    );
  return vids[0] ?? null;
}
