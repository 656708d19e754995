/**
 * Module resolution hook of a warm task host: a task's entry module is imported with `?flor-task=N`,
 * and every module of the project it imports (not packages under node_modules) gets the same query, so
 * each task evaluates the script's own modules afresh, as a process of its own would, while packages
 * stay loaded. Registered after tsx's hooks, so it runs first and adds the query to what tsx resolved.
 */
import { pathToFileURL } from "node:url";

const PARAM = "flor-task";

interface ResolveContext {
  parentURL?: string;
}
interface ResolveResult {
  url: string;
  format?: string | null;
}

let root = "";

export function initialize(data: { root: string }): void {
  root = `${pathToFileURL(data.root).href.replace(/\/$/, "")}/`;
}

export async function resolve(
  specifier: string,
  context: ResolveContext,
  next: (specifier: string, context: ResolveContext) => Promise<ResolveResult>,
): Promise<ResolveResult> {
  const resolved = await next(specifier, context);
  const task = taskOf(specifier) ?? (context.parentURL === undefined ? null : taskOf(context.parentURL));
  if (task === null || !resolved.url.startsWith(root) || resolved.url.slice(root.length).includes("node_modules/")) return resolved;
  const url = new URL(resolved.url);
  url.searchParams.set(PARAM, task);
  return { ...resolved, url: url.href };
}

function taskOf(url: string): string | null {
  if (!url.startsWith("file:")) return null;
  return new URL(url).searchParams.get(PARAM);
}
