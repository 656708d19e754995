import { Flor } from "./flor.js";

/** The SDK instance training scripts use: `import { flor } from "flordb"`. */
export const flor = new Flor({ exitOnUsageError: true });
export { Flor, type CheckpointOptions, type FlorOptions, type RunInfo } from "./flor.js";
