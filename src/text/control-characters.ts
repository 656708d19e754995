/** C0 control characters, which must not reach a terminal from user input (they can move the cursor or recolour text). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
export const CONTROL_CHARACTERS = /[\0-\x1f]/g;
