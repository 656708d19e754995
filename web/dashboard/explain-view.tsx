/** @jsxImportSource preact */

import { explainBlocks } from "./explain-blocks.js";

const STATE_CLASS: Record<string, string> = {
  recorded: "cell-recorded",
  replayed: "cell-replayed",
  "fill by replay": "cell-fill",
  "cannot fill": "cell-cannot",
  "never logged": "cell-cannot",
};

export function ExplainView({ text }: { text: string }) {
  return (
    <section class="explain" aria-label="Query plan">
      {explainBlocks(text).map((block) =>
        block.kind === "text" ? (
          /^(?:select |parameters:)/.test(block.text) ? (
            <pre key={block.text} class="explain-sql">
              {block.text}
            </pre>
          ) : (
            <p key={block.text} class={/^[a-z ]+:$/.test(block.text) ? "explain-heading" : undefined}>
              {block.text}
            </p>
          )
        ) : (
          <table key={block.header.join(" ")} class="explain-table">
            <thead>
              <tr>
                {block.header.map((h) => (
                  <th scope="col" key={h}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {block.rows.map((row) => (
                <tr key={row.join("\u0000")}>
                  {row.map((value, c) => (
                    <td key={block.header[c]} class={STATE_CLASS[value]}>
                      {value}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        ),
      )}
    </section>
  );
}
