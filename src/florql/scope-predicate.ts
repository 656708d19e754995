import type { ProjectStore } from "../store/project-store.js";
import { closestNameHint, FlorQLError, FlorQLErrorCodes } from "./florql-error.js";
import { QueryCatalog } from "./catalog.js";
import { evaluatePredicate, namesIn } from "./evaluate.js";
import { parseExpression } from "./parse.js";
import type { ScopePredicate } from "../replay/replay-plan.js";

/**
 * A FlorQL predicate (`epoch >= 18 AND arg.lr < 0.1`) as a replay scope: evaluated per run and per
 * iteration of the outermost loop, with what is not known at that point (a logged value) left open.
 * Every name must be in `catalog` (run and loop dimensions, args, log names), so a misspelt name is an
 * error with a suggestion instead of a scope that silently keeps everything.
 */
export function scopePredicate(text: string, catalog: readonly string[]): ScopePredicate {
  const expression = parseExpression(text);
  const known = new Set(catalog);
  for (const ref of namesIn(expression)) {
    if (known.has(ref.name)) continue;
    const hint = closestNameHint(ref.name, catalog);
    throw new FlorQLError(
      {
        code: FlorQLErrorCodes.unknownName,
        message: `no run dimension, loop, arg or log is named \`${ref.name}\``,
        span: ref.span,
        ...(hint === undefined ? {} : { hint }),
      },
      text,
    );
  }
  return (lookup) => evaluatePredicate(expression, (ref) => lookup(ref.name, ref.namespace ?? undefined));
}

/** `scopePredicate` against the project's catalog (the one FlorQL queries use, cached per store change). */
export async function projectScope(text: string, project: ProjectStore, root: string): Promise<ScopePredicate> {
  return scopePredicate(text, (await QueryCatalog.load(project, root)).allNames());
}
