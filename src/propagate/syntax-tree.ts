import type { Node } from "@babel/types";

/** A node of the tree that matching works on: a Babel node with what identifies it. */
export interface TreeNode {
  /** Position in preorder; also the index in `SyntaxTree.nodes`. */
  readonly id: number;
  /** The Babel node type. */
  readonly label: string;
  /** What distinguishes nodes of one type: a name, a literal, an operator, a declaration kind. */
  readonly value: string;
  readonly ast: Node;
  readonly parent: TreeNode | null;
  readonly children: TreeNode[];
  /** 1 for a leaf. */
  height: number;
  /** Number of nodes in the subtree, this one included. */
  size: number;
  /** Equal for isomorphic subtrees (same labels, values and shape). */
  hash: number;
  /** One past the last preorder id of the subtree: descendants are the ids in (id, end). */
  end: number;
}

export interface SyntaxTree {
  root: TreeNode;
  nodes: TreeNode[];
  /** The tree node of a Babel node. */
  of: Map<Node, TreeNode>;
}

const SKIPPED = new Set([
  "loc",
  "start",
  "end",
  "range",
  "extra",
  "tokens",
  "comments",
  "leadingComments",
  "trailingComments",
  "innerComments",
  "original",
]);

function labelOf(node: Node): string {
  const n = node as unknown as Record<string, unknown>;
  switch (node.type) {
    case "Identifier":
    case "JSXIdentifier":
    case "PrivateName":
      return String(n["name"] ?? (n["id"] as { name?: string } | undefined)?.name ?? "");
    case "StringLiteral":
    case "NumericLiteral":
    case "BooleanLiteral":
    case "BigIntLiteral":
    case "DecimalLiteral":
      return String(n["value"]);
    case "RegExpLiteral":
      return `/${String(n["pattern"])}/${String(n["flags"])}`;
    case "TemplateElement":
      return String((n["value"] as { raw: string }).raw);
    case "BinaryExpression":
    case "LogicalExpression":
    case "AssignmentExpression":
    case "UnaryExpression":
    case "UpdateExpression":
      return `${String(n["operator"])}${n["prefix"] === false ? " postfix" : ""}`;
    case "VariableDeclaration":
      return String(n["kind"]);
    case "MemberExpression":
    case "OptionalMemberExpression":
    case "ObjectProperty":
    case "ClassProperty":
    case "ObjectMethod":
    case "ClassMethod":
      return `${n["computed"] ? "computed" : ""}${n["kind"] ? ` ${String(n["kind"])}` : ""}${n["static"] ? " static" : ""}`;
    case "ForOfStatement":
      return n["await"] ? "await" : "";
    case "FunctionDeclaration":
    case "FunctionExpression":
    case "ArrowFunctionExpression":
      return `${n["async"] ? "async" : ""}${n["generator"] ? "*" : ""}`;
    default:
      return "";
  }
}

/**
 * Builds the matching tree of a Babel AST (every node, types included; comments and positions left
 * out). Trees that are compared must share `hashes`, so that isomorphic subtrees get equal hashes.
 */
export function buildTree(ast: Node, hashes: Map<string, number>): SyntaxTree {
  const nodes: TreeNode[] = [];
  const of = new Map<Node, TreeNode>();

  const visit = (node: Node, parent: TreeNode | null): TreeNode => {
    const tree: TreeNode = {
      id: nodes.length,
      label: node.type,
      value: labelOf(node),
      ast: node,
      parent,
      children: [],
      height: 1,
      size: 1,
      hash: 0,
      end: 0,
    };
    nodes.push(tree);
    of.set(node, tree);
    for (const key of Object.keys(node)) {
      if (SKIPPED.has(key)) continue;
      const field = (node as unknown as Record<string, unknown>)[key];
      const items = Array.isArray(field) ? field : [field];
      for (const item of items) {
        if (item !== null && typeof item === "object" && typeof (item as { type?: unknown }).type === "string") {
          tree.children.push(visit(item as Node, tree));
        }
      }
    }
    let signature = `${tree.label}\u0000${tree.value}`;
    for (const child of tree.children) {
      tree.height = Math.max(tree.height, child.height + 1);
      tree.size += child.size;
      signature += `\u0000${child.hash}`;
    }
    let hash = hashes.get(signature);
    if (hash === undefined) {
      hash = hashes.size + 1;
      hashes.set(signature, hash);
    }
    tree.hash = hash;
    tree.end = nodes.length;
    return tree;
  };
  return { root: visit(ast, null), nodes, of };
}

export function isDescendant(node: TreeNode, ancestor: TreeNode): boolean {
  return node.id > ancestor.id && node.id < ancestor.end;
}
