/** Ten colours told apart by most eyes (Tableau 10), one per version in order of first appearance. */
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/** A colour per group (version), stable for the groups given in the order given. */
export function colorsFor(groups: readonly string[]): Map<string, string> {
  const colors = new Map<string, string>();
  for (const group of groups) if (!colors.has(group)) colors.set(group, PALETTE[colors.size % PALETTE.length]!);
  return colors;
}
