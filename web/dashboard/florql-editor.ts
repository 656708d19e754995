// The FlorQL editor: CodeMirror 6 with FlorQL's tokens highlighted (keywords, names, literals, comments,
// as src/florql/tokens.ts lexes them), Mod-Enter to run, and the span of an error marked in place.
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import { Decoration, type DecorationSet, EditorView, keymap, lineNumbers, placeholder } from "@codemirror/view";
import { tags } from "@lezer/highlight";

const KEYWORDS = new Set(
  "explain select from where group order by asc desc limit offset as and or not in between like is null true false distinct timestamp".split(
    " ",
  ),
);
const AGGREGATES = new Set(["count", "min", "max", "avg", "sum", "first", "last"]);
const NAMESPACES = new Set(["arg", "log", "run", "loop"]);

interface LexState {
  /** After FROM, a script path (train.ts, examples/iris/train.ts) comes next. */
  afterFrom: boolean;
}

const florql = StreamLanguage.define<LexState>({
  name: "florql",
  startState: () => ({ afterFrom: false }),
  token(stream, state) {
    if (stream.eatSpace()) return null;
    if (stream.match("--")) {
      stream.skipToEnd();
      return "comment";
    }
    if (state.afterFrom && stream.match(/^[A-Za-z0-9_./-]+\.[A-Za-z0-9]+/)) {
      state.afterFrom = false;
      return "string.special";
    }
    state.afterFrom = false;
    if (stream.eat("'")) {
      while (!stream.eol()) {
        if (stream.next() === "'" && !stream.eat("'")) break;
      }
      return "string";
    }
    if (stream.eat("`")) {
      stream.skipTo("`") ? stream.next() : stream.skipToEnd();
      return "variableName.special";
    }
    if (stream.match(/^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/)) return "number";
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/) as RegExpMatchArray | null;
    if (word) {
      const lower = word[0].toLowerCase();
      if (KEYWORDS.has(lower)) {
        state.afterFrom = lower === "from";
        return "keyword";
      }
      if (AGGREGATES.has(lower) && stream.peek() === "(") return "function(variableName)";
      if (NAMESPACES.has(lower) && stream.peek() === ".") return "namespace";
      return "variableName";
    }
    if (stream.match(/^(?:<=|>=|<>|!=|[=<>])/)) return "compareOperator";
    if (stream.match(/^[-+*/%]/)) return "arithmeticOperator";
    stream.next();
    return "punctuation";
  },
});

/** Colours with at least 4.5:1 contrast on white. */
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: "#7a1fa2", fontWeight: "bold" },
  { tag: tags.comment, color: "#5f6b5f", fontStyle: "italic" },
  { tag: tags.string, color: "#a11d1d" },
  { tag: tags.special(tags.string), color: "#0b6e4f" },
  { tag: tags.number, color: "#1c5fa8" },
  { tag: [tags.function(tags.variableName)], color: "#8a4b00" },
  { tag: tags.namespace, color: "#0b6e4f" },
  { tag: tags.special(tags.variableName), color: "#1f4e79" },
  { tag: [tags.compareOperator, tags.arithmeticOperator], color: "#444" },
]);

/** Marks the culprit of an error: [from, to) in the document, or nothing. */
const setError = StateEffect.define<{ from: number; to: number } | null>();
const errorMark = Decoration.mark({ class: "cm-florql-error", attributes: { "aria-invalid": "true" } });

const errorField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, transaction) {
    // An edit makes the old error stale.
    if (transaction.docChanged) return Decoration.none;
    for (const effect of transaction.effects)
      if (effect.is(setError)) {
        if (effect.value === null) return Decoration.none;
        const end = Math.min(transaction.state.doc.length, Math.max(effect.value.to, effect.value.from + 1));
        const from = Math.min(effect.value.from, Math.max(0, end - 1));
        return end > from ? Decoration.set([errorMark.range(from, end)]) : Decoration.none;
      }
    return marks;
  },
  provide: (field) => EditorView.decorations.from(field),
});

export interface FlorqlEditor {
  view: EditorView;
  text(): string;
  setText(text: string): void;
  /** Marks [offset, offset + length) as the error's culprit; null clears it. */
  markError(span: { offset: number; length: number } | null): void;
}

export function createFlorqlEditor(parent: HTMLElement, initial: string, onRun: () => void, label: string): FlorqlEditor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: initial,
      extensions: [
        lineNumbers(),
        history(),
        bracketMatching(),
        florql,
        syntaxHighlighting(highlight),
        errorField,
        placeholder("SELECT vid, epoch, loss FROM train.ts WHERE epoch >= 5"),
        keymap.of([
          {
            key: "Mod-Enter",
            run: () => {
              onRun();
              return true;
            },
          },
          ...defaultKeymap,
          ...historyKeymap,
        ]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": label }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    markError(span) {
      view.dispatch({ effects: setError.of(span === null ? null : { from: span.offset, to: span.offset + span.length }) });
    },
  };
}
