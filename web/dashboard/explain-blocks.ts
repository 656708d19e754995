/** A block of EXPLAIN's text: a line of prose, or a table as the CLI aligns it. */
export type Block = { kind: "text"; text: string } | { kind: "table"; header: string[]; rows: string[][] };

/** A line after a table that is not one of its rows: empty, indented (a note), or a section of its own. */
const ENDS_TABLE = /^(?:\s|$|(?:scope|replay|cannot fill|sql|parameters|planning)\b)/;

/**
 * Reads EXPLAIN's text (src/florql/explain.ts) into prose and tables: a table is a header line over a
 * line of dashes, and its columns lie where the dashes are.
 */
export function explainBlocks(text: string): Block[] {
  const lines = text.replace(/\n$/, "").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const rule = lines[i + 1];
    if (rule !== undefined && /^-+(?: {2}-+)*$/.test(rule.trim()) && rule.trim() !== "") {
      const spans: [number, number][] = [];
      for (const match of rule.matchAll(/-+/g)) spans.push([match.index, match.index + match[0].length]);
      const cut = (row: string) => spans.map(([from], k) => row.slice(from, k + 1 < spans.length ? spans[k + 1]![0] : undefined).trim());
      const rows: string[][] = [];
      let j = i + 2;
      for (; j < lines.length && !ENDS_TABLE.test(lines[j]!); j++) rows.push(cut(lines[j]!));
      blocks.push({ kind: "table", header: cut(line), rows });
      i = j - 1;
    } else if (line.trim() !== "") blocks.push({ kind: "text", text: line });
  }
  return blocks;
}
