/** The statement added to today's version: the value past versions never logged. */
export declare const HINDSIGHT_LOG: string;
/** Records the demo project in `project` (replaced if it exists); see demo-project.mjs. */
export declare function recordDemoProject(project: string, options?: { epochs?: number; say?: (text: string) => void }): void;
