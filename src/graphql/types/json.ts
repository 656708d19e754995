import { builder } from "../builder.js";

/** Logged values, args and FlorQL rows are arbitrary JSON (numbers, strings, booleans, null, arrays, objects). */
export const JsonScalar = builder.scalarType("JSON", {
  description: "Any JSON value.",
  serialize: (value) => value,
  parseValue: (value) => value,
});
