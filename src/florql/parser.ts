import type { IToken, TokenType } from "chevrotain";
import { CstParser, EOF } from "./chevrotain.js";
import {
  AdditiveOperator,
  ALL_TOKENS,
  And,
  As,
  Asc,
  Between,
  By,
  Comma,
  ComparisonOperator,
  Desc,
  Distinct,
  Dot,
  Explain,
  False,
  From,
  Group,
  Identifier,
  In,
  Is,
  Keyword,
  LeftParen,
  Like,
  Limit,
  Minus,
  MultiplicativeOperator,
  Not,
  Null,
  NumberLiteral,
  Offset,
  Or,
  Order,
  QuotedName,
  RightParen,
  ScriptPath,
  Select,
  Star,
  StringLiteral,
  Timestamp,
  True,
  Where,
} from "./tokens.js";

/**
 * How deeply expressions may nest, in the text (parentheses, calls, IN lists) and in the tree.
 * Real queries rarely pass 10. Chevrotain spends about 30 stack frames per level, and before the JIT
 * warms up Node's default stack overflows at about 180 levels, so this keeps a wide margin.
 */
export const MAX_NESTING = 64;

/** Thrown out of the parser when an expression nests deeper than MAX_NESTING; `token` is where it went too deep. */
export class NestingTooDeep extends Error {
  constructor(readonly token: IToken) {
    super("nested too deeply");
  }
}

/**
 * Chevrotain only builds message strings, so the "messages" are the expected tokens' labels encoded as
 * JSON; parse.ts decodes them into FlorQLError's `expected` and writes the message itself.
 */
const expectationEncoder = {
  buildMismatchTokenMessage: ({ expected }: { expected: TokenType }) => JSON.stringify([tokenLabel(expected)]),
  buildNotAllInputParsedMessage: () => "[]",
  buildNoViableAltMessage: ({ expectedPathsPerAlt }: { expectedPathsPerAlt: TokenType[][][] }) =>
    JSON.stringify(expectedPathsPerAlt.flat().flatMap((path) => (path[0] === undefined ? [] : [tokenLabel(path[0])]))),
  buildEarlyExitMessage: ({ expectedIterationPaths }: { expectedIterationPaths: TokenType[][] }) =>
    JSON.stringify(expectedIterationPaths.flatMap((path) => (path[0] === undefined ? [] : [tokenLabel(path[0])]))),
};

export function tokenLabel(type: TokenType): string {
  return type === EOF ? "the end of the query" : (type.LABEL ?? type.name);
}

/**
 * The FlorQL grammar (grammar/florql.ebnf is the same, written out). A pure grammar: the AST is built
 * by build-ast.ts from the concrete syntax tree. Precedence, loosest first: OR, AND, NOT, comparisons
 * (and IN, BETWEEN, LIKE, IS NULL), + -, * / %, unary minus.
 */
class FlorQLParser extends CstParser {
  /** How many `expression` rules are open; guards the stack against `((((...))))`. */
  private nesting = 0;

  constructor() {
    super([...ALL_TOKENS], { errorMessageProvider: expectationEncoder, maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  override reset(): void {
    super.reset();
    this.nesting = 0;
  }

  readonly query = this.RULE("query", () => {
    this.OPTION(() => this.CONSUME(Explain));
    this.CONSUME(Select);
    this.SUBRULE(this.selectList);
    this.OPTION2(() => this.SUBRULE(this.fromClause));
    this.OPTION3(() => this.SUBRULE(this.whereClause));
    this.OPTION4(() => this.SUBRULE(this.groupByClause));
    this.OPTION5(() => this.SUBRULE(this.orderByClause));
    this.OPTION6(() => this.SUBRULE(this.limitClause));
  });

  readonly selectList = this.RULE("selectList", () => {
    this.OR([
      { ALT: () => this.CONSUME(Star) },
      {
        ALT: () => {
          this.SUBRULE(this.selectItem);
          this.MANY(() => {
            this.CONSUME(Comma);
            this.SUBRULE2(this.selectItem);
          });
        },
      },
    ]);
  });

  readonly selectItem = this.RULE("selectItem", () => {
    this.SUBRULE(this.expression);
    this.OPTION(() => {
      this.CONSUME(As);
      this.OR([{ ALT: () => this.CONSUME(Identifier) }, { ALT: () => this.CONSUME(QuotedName) }]);
    });
  });

  readonly fromClause = this.RULE("fromClause", () => {
    this.CONSUME(From);
    this.OR([{ ALT: () => this.CONSUME(ScriptPath) }, { ALT: () => this.CONSUME(StringLiteral) }]);
  });

  readonly whereClause = this.RULE("whereClause", () => {
    this.CONSUME(Where);
    this.SUBRULE(this.expression);
  });

  readonly groupByClause = this.RULE("groupByClause", () => {
    this.CONSUME(Group);
    this.CONSUME(By);
    this.SUBRULE(this.expression);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.expression);
    });
  });

  readonly orderByClause = this.RULE("orderByClause", () => {
    this.CONSUME(Order);
    this.CONSUME(By);
    this.SUBRULE(this.orderItem);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.orderItem);
    });
  });

  readonly orderItem = this.RULE("orderItem", () => {
    this.SUBRULE(this.expression);
    this.OPTION(() => this.OR([{ ALT: () => this.CONSUME(Asc) }, { ALT: () => this.CONSUME(Desc) }]));
  });

  readonly limitClause = this.RULE("limitClause", () => {
    this.CONSUME(Limit);
    this.CONSUME(NumberLiteral);
    this.OPTION(() => {
      this.CONSUME(Offset);
      this.CONSUME2(NumberLiteral);
    });
  });

  readonly expression = this.RULE("expression", () => {
    this.ACTION(() => {
      if (++this.nesting > MAX_NESTING) throw new NestingTooDeep(this.LA(1));
    });
    this.SUBRULE(this.andExpression);
    this.MANY(() => {
      this.CONSUME(Or);
      this.SUBRULE2(this.andExpression);
    });
    this.ACTION(() => this.nesting--);
  });

  readonly andExpression = this.RULE("andExpression", () => {
    this.SUBRULE(this.notExpression);
    this.MANY(() => {
      this.CONSUME(And);
      this.SUBRULE2(this.notExpression);
    });
  });

  // Prefix operators repeat (MANY) rather than recurse, so `NOT NOT ... x` cannot exhaust the stack.
  readonly notExpression = this.RULE("notExpression", () => {
    this.MANY(() => this.CONSUME(Not));
    this.SUBRULE(this.comparison);
  });

  /** Comparisons do not chain: `a < b < c` is an error, as in PostgreSQL. */
  readonly comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.additive);
    this.OPTION(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(ComparisonOperator);
            this.SUBRULE2(this.additive);
          },
        },
        {
          ALT: () => {
            this.OPTION2(() => this.CONSUME(Not));
            this.OR2([
              { ALT: () => this.SUBRULE(this.inList) },
              {
                ALT: () => {
                  this.CONSUME(Between);
                  this.SUBRULE3(this.additive);
                  this.CONSUME(And);
                  this.SUBRULE4(this.additive);
                },
              },
              {
                ALT: () => {
                  this.CONSUME(Like);
                  this.SUBRULE5(this.additive);
                },
              },
            ]);
          },
        },
        {
          ALT: () => {
            this.CONSUME(Is);
            this.OPTION3(() => this.CONSUME2(Not));
            this.CONSUME(Null);
          },
        },
      ]);
    });
  });

  readonly inList = this.RULE("inList", () => {
    this.CONSUME(In);
    this.CONSUME(LeftParen);
    this.SUBRULE(this.expression);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.expression);
    });
    this.CONSUME(RightParen);
  });

  readonly additive = this.RULE("additive", () => {
    this.SUBRULE(this.multiplicative);
    this.MANY(() => {
      this.CONSUME(AdditiveOperator);
      this.SUBRULE2(this.multiplicative);
    });
  });

  readonly multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.CONSUME(MultiplicativeOperator);
      this.SUBRULE2(this.unary);
    });
  });

  readonly unary = this.RULE("unary", () => {
    this.MANY(() => this.CONSUME(Minus));
    this.SUBRULE(this.primary);
  });

  readonly primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.literal) },
      {
        ALT: () => {
          this.CONSUME(LeftParen);
          this.SUBRULE(this.expression);
          this.CONSUME(RightParen);
        },
      },
      { ALT: () => this.SUBRULE(this.aggregateCall) },
      { ALT: () => this.SUBRULE(this.name) },
    ]);
  });

  readonly literal = this.RULE("literal", () => {
    this.OR([
      { ALT: () => this.CONSUME(NumberLiteral) },
      { ALT: () => this.CONSUME(StringLiteral) },
      { ALT: () => this.CONSUME(True) },
      { ALT: () => this.CONSUME(False) },
      { ALT: () => this.CONSUME(Null) },
      {
        ALT: () => {
          this.CONSUME(Timestamp);
          this.CONSUME2(StringLiteral);
        },
      },
    ]);
  });

  /** `count(*)`, `count(DISTINCT x)`, `max(loss)`: the function name is checked when the AST is built. */
  readonly aggregateCall = this.RULE("aggregateCall", () => {
    this.CONSUME(Identifier);
    this.CONSUME(LeftParen);
    this.OR([
      { ALT: () => this.CONSUME(Star) },
      {
        ALT: () => {
          this.OPTION(() => this.CONSUME(Distinct));
          this.SUBRULE(this.expression);
        },
      },
    ]);
    this.CONSUME(RightParen);
  });

  /** `loss`, `` `odd name` ``, or `namespace.name`, where the name may also be a keyword (`log.order`). */
  readonly name = this.RULE("name", () => {
    this.OR([
      { ALT: () => this.CONSUME(QuotedName) },
      {
        ALT: () => {
          this.CONSUME(Identifier);
          this.OPTION(() => {
            this.CONSUME(Dot);
            this.OR2([
              { ALT: () => this.CONSUME2(Identifier) },
              { ALT: () => this.CONSUME2(QuotedName) },
              { ALT: () => this.CONSUME(Keyword) },
            ]);
          });
        },
      },
    ]);
  });
}

/** The one parser: Chevrotain parsers are built once and reused (assigning `input` resets one). */
export const florqlParser = new FlorQLParser();

export type StartRule = "query" | "expression";
