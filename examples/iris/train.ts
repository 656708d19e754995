import { flor } from "flordb";
import { train } from "./training.js";

const { testAccuracy, finalLoss } = train(flor);
console.log(`test accuracy ${testAccuracy.toFixed(3)}, final training loss ${finalLoss.toFixed(4)}`);
