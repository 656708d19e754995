import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type Mapping, matchTrees } from "../../src/propagate/gumtree.js";
import { parseSource } from "../../src/propagate/parse-source.js";
import { buildTree, type SyntaxTree, type TreeNode } from "../../src/propagate/syntax-tree.js";
import { FIXTURES } from "../helpers/repo.js";

interface Version {
  code: string;
  tree: SyntaxTree;
}

/** Two versions of a script, their trees built with shared hashes (as propagation builds them), and their mapping. */
function match(srcCode: string, dstCode: string, filename = "train.ts"): { src: Version; dst: Version; mapping: Mapping } {
  const hashes = new Map<string, number>();
  const src = { code: srcCode, tree: buildTree(parseSource(srcCode, filename), hashes) };
  const dst = { code: dstCode, tree: buildTree(parseSource(dstCode, filename), hashes) };
  return { src, dst, mapping: matchTrees(src.tree, dst.tree) };
}

/** The node of `label` whose source text is the `nth` occurrence of `text`. */
function nodeOf(version: Version, label: string, text: string, nth = 1): TreeNode {
  let offset = -1;
  for (let i = 0; i < nth; i++) offset = version.code.indexOf(text, offset + 1);
  const node = version.tree.nodes.find((n) => n.label === label && n.ast.start === offset && n.ast.end === offset + text.length);
  if (node === undefined) throw new Error(`no ${label} for ${JSON.stringify(text)} (${nth})`);
  return node;
}

/** The source text of the node `node` is mapped to, or null. */
function imageText(mapping: Mapping, dst: Version, node: TreeNode): string | null {
  const image = mapping.srcToDst.get(node);
  return image === undefined ? null : dst.code.slice(image.ast.start!, image.ast.end!);
}

/** What every mapping must be: one to one, between nodes of the same type, with the roots mapped. */
function expectWellFormed({ src, dst, mapping }: ReturnType<typeof match>): void {
  expect(mapping.srcToDst.size).toBe(mapping.dstToSrc.size);
  for (const [a, b] of mapping.srcToDst) {
    expect(mapping.dstToSrc.get(b)).toBe(a);
    expect(b.label).toBe(a.label);
    expect(src.tree.nodes[a.id]).toBe(a);
    expect(dst.tree.nodes[b.id]).toBe(b);
  }
  expect(mapping.srcToDst.get(src.tree.root)).toBe(dst.tree.root);
}

const BLOCK = `import { flor } from "flordb";
const data = load("iris.csv");
const model = new Model(data.features);
for (const epoch of flor.loop("epoch", 10)) {
  const loss = model.train(data);
  flor.log("loss", loss);
}
save(model, "model.bin");
`;

describe("GumTree matching", () => {
  it("maps identical trees node for node", () => {
    const matched = match(BLOCK, BLOCK);
    expectWellFormed(matched);
    expect(matched.mapping.srcToDst.size).toBe(matched.src.tree.nodes.length);
    for (const node of matched.src.tree.nodes) expect(matched.mapping.srcToDst.get(node)!.id).toBe(node.id);
  });

  it("maps a renamed variable's declaration and uses onto the new name", () => {
    const renamed = BLOCK.replaceAll("loss", "trainLoss").replace('flor.log("trainLoss"', 'flor.log("loss"');
    const matched = match(BLOCK, renamed);
    expectWellFormed(matched);
    const { src, dst, mapping } = matched;
    expect(imageText(mapping, dst, nodeOf(src, "Identifier", "loss", 1))).toBe("trainLoss");
    expect(imageText(mapping, dst, nodeOf(src, "VariableDeclaration", "const loss = model.train(data);"))).toBe(
      "const trainLoss = model.train(data);",
    );
    expect(imageText(mapping, dst, nodeOf(src, "ExpressionStatement", 'flor.log("loss", loss);'))).toBe('flor.log("loss", trainLoss);');
  });

  it("follows a statement that moved to another place in its block", () => {
    const moved = BLOCK.replace('const data = load("iris.csv");\n', "").replace(
      "const model",
      'const data = load("iris.csv");\nlet seen = 0;\nconst model',
    );
    const matched = match(BLOCK, moved);
    expectWellFormed(matched);
    const { src, dst, mapping } = matched;
    const statement = 'const data = load("iris.csv");';
    const declaration = nodeOf(src, "VariableDeclaration", statement);
    expect(mapping.srcToDst.get(declaration)).toBe(nodeOf(dst, "VariableDeclaration", statement));
    // Its whole subtree comes along, node for node.
    const image = nodeOf(dst, "VariableDeclaration", statement);
    for (const node of src.tree.nodes.slice(declaration.id, declaration.end))
      expect(mapping.srcToDst.get(node)).toBe(dst.tree.nodes[image.id + node.id - declaration.id]);
  });

  it("leaves inserted statements unmapped and maps everything around them", () => {
    const inserted = BLOCK.replace(
      '  flor.log("loss", loss);\n',
      '  flor.log("loss", loss);\n  const norm = model.gradNorm();\n  flor.log("norm", norm);\n',
    );
    const matched = match(BLOCK, inserted);
    expectWellFormed(matched);
    const { src, dst, mapping } = matched;
    expect(src.tree.nodes.every((node) => mapping.hasSrc(node))).toBe(true);
    for (const text of ["const norm = model.gradNorm();", 'flor.log("norm", norm);']) {
      const statement = nodeOf(dst, text.startsWith("const") ? "VariableDeclaration" : "ExpressionStatement", text);
      expect(mapping.hasDst(statement), text).toBe(false);
    }
    // And the other way round: statements the newer version deleted.
    const deleted = match(inserted, BLOCK);
    expectWellFormed(deleted);
    expect(deleted.mapping.hasSrc(nodeOf(deleted.src, "VariableDeclaration", "const norm = model.gradNorm();"))).toBe(false);
    expect(deleted.dst.tree.nodes.every((node) => deleted.mapping.hasDst(node))).toBe(true);
  });

  it("settles identical candidates by how alike their parents are", () => {
    const src = "function train() { step(); report(1); }\nfunction evaluate() { step(); report(2); }\n";
    const dst = "function evaluate() { step(); report(2); check(); }\nfunction train() { step(); report(1); warmup(); }\n";
    const matched = match(src, dst);
    expectWellFormed(matched);
    const { mapping } = matched;
    const image = (nth: number) => mapping.srcToDst.get(nodeOf(matched.src, "ExpressionStatement", "step();", nth))!;
    // `step();` of train() is the one in train(), though evaluate() comes first now.
    expect(image(1)).toBe(nodeOf(matched.dst, "ExpressionStatement", "step();", 2));
    expect(image(2)).toBe(nodeOf(matched.dst, "ExpressionStatement", "step();", 1));
  });

  it("pairs a changed statement with its old self only within the same gap between matched neighbours", () => {
    const src = "const a = f(1);\nx = 1;\nconst b = g(2);\nconst c = h(3);\n";
    const sameGap = match(src, "const a = f(1);\nx = 2;\nconst b = g(2);\nconst c = h(3);\n");
    expectWellFormed(sameGap);
    const changed = nodeOf(sameGap.src, "ExpressionStatement", "x = 1;");
    expect(imageText(sameGap.mapping, sameGap.dst, changed)).toBe("x = 2;");
    expect(imageText(sameGap.mapping, sameGap.dst, nodeOf(sameGap.src, "NumericLiteral", "1", 2))).toBe("2");

    const otherGap = match(src, "const a = f(1);\nconst b = g(2);\nx = 2;\nconst c = h(3);\n");
    expectWellFormed(otherGap);
    expect(otherGap.mapping.hasSrc(nodeOf(otherGap.src, "ExpressionStatement", "x = 1;"))).toBe(false);
    expect(otherGap.mapping.hasDst(nodeOf(otherGap.dst, "ExpressionStatement", "x = 2;"))).toBe(false);
  });

  it("maps containers whose contents are mostly mapped, even when their own text changed", () => {
    const edited = BLOCK.replace('flor.loop("epoch", 10)', 'flor.loop("epoch", epochs)').replace(
      "const loss = model.train(data);",
      "const loss = model.train(data, lr);",
    );
    const matched = match(BLOCK, edited);
    expectWellFormed(matched);
    const loop = nodeOf(matched.src, "ForOfStatement", BLOCK.slice(BLOCK.indexOf("for ("), BLOCK.indexOf("}\n") + 1));
    expect(matched.mapping.srcToDst.get(loop)?.label).toBe("ForOfStatement");
    expect(imageText(matched.mapping, matched.dst, nodeOf(matched.src, "CallExpression", "model.train(data)"))).toBe(
      "model.train(data, lr)",
    );
  });

  it("gives a well-formed mapping for every pair of versions in the propagation corpus", () => {
    const corpus = path.join(FIXTURES, "propagation");
    let pairs = 0;
    for (const entry of readdirSync(corpus, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const name = entry.name;
      const files = readdirSync(path.join(corpus, name));
      const extension = path.extname(files.find((f) => f.startsWith("new."))!);
      const read = (file: string) => readFileSync(path.join(corpus, name, `${file}${extension}`), "utf8");
      expectWellFormed(match(read("new"), read("old"), `train${extension}`));
      pairs++;
    }
    expect(pairs).toBeGreaterThan(50);
  });
});
