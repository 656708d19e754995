// One training run of the iris example, with flor or without; prints its peak resident memory (bytes).
import { Flor } from "../src/sdk/flor.js";
import { noTracking, train, type Tracker } from "../examples/iris/training.js";
import { withArgs } from "./with-args.js";

const [mode, script] = process.argv.slice(2);
const args = { hidden: 256, epochs: 60 };
const tracker: Tracker =
  mode === "flor"
    ? new Flor({ script: script!, argv: ["--kwargs", "hidden=256", "epochs=60"], autoCommit: false })
    : withArgs(noTracking, args);
train(tracker);
if (tracker instanceof Flor) await tracker.commit();
process.stdout.write(`${process.resourceUsage().maxRSS * 1024}\n`);
