import { isDescendant, type SyntaxTree, type TreeNode } from "./syntax-tree.js";

/** A one-to-one mapping between the nodes of two trees. */
export class Mapping {
  readonly srcToDst = new Map<TreeNode, TreeNode>();
  readonly dstToSrc = new Map<TreeNode, TreeNode>();

  add(src: TreeNode, dst: TreeNode): void {
    this.srcToDst.set(src, dst);
    this.dstToSrc.set(dst, src);
  }

  remove(src: TreeNode): void {
    const dst = this.srcToDst.get(src);
    if (dst === undefined) return;
    this.srcToDst.delete(src);
    this.dstToSrc.delete(dst);
  }

  hasSrc(node: TreeNode): boolean {
    return this.srcToDst.has(node);
  }

  hasDst(node: TreeNode): boolean {
    return this.dstToSrc.has(node);
  }
}

export interface MatchOptions {
  /** Subtrees lower than this are left to the bottom-up phase (GumTree's default: 2). */
  minHeight?: number;
  /** Containers are matched when this share of their descendants is matched (default 0.5). */
  minDice?: number;
}

/**
 * GumTree (Falleri et al., ASE 2014): a greedy top-down phase maps the highest isomorphic subtrees
 * (ambiguous ones by the similarity of their parents), a bottom-up phase maps containers whose
 * descendants are largely mapped, and a recovery phase aligns the children of mapped containers.
 */
export function matchTrees(src: SyntaxTree, dst: SyntaxTree, options: MatchOptions = {}): Mapping {
  const minHeight = options.minHeight ?? 2;
  const minDice = options.minDice ?? 0.5;
  const mapping = new Mapping();
  topDown(src, dst, mapping, minHeight);
  bottomUp(src, dst, mapping, minDice);
  return mapping;
}

function mapSubtrees(a: TreeNode, b: TreeNode, mapping: Mapping): void {
  // Isomorphic subtrees have the same shape, so their preorders line up one to one.
  mapping.add(a, b);
  for (const [i, child] of a.children.entries()) mapSubtrees(child, b.children[i]!, mapping);
}

class HeightQueue {
  private readonly byHeight = new Map<number, TreeNode[]>();
  private heights: number[] = [];

  push(node: TreeNode): void {
    const list = this.byHeight.get(node.height);
    if (list === undefined) {
      this.byHeight.set(node.height, [node]);
      this.heights.push(node.height);
      this.heights.sort((x, y) => y - x);
    } else list.push(node);
  }

  peek(): number {
    return this.heights[0] ?? 0;
  }

  pop(): TreeNode[] {
    const height = this.heights.shift();
    if (height === undefined) return [];
    const list = this.byHeight.get(height)!;
    this.byHeight.delete(height);
    return list;
  }

  open(node: TreeNode): void {
    for (const child of node.children) this.push(child);
  }
}

function topDown(src: SyntaxTree, dst: SyntaxTree, mapping: Mapping, minHeight: number): void {
  const q1 = new HeightQueue();
  const q2 = new HeightQueue();
  q1.push(src.root);
  q2.push(dst.root);
  const ambiguous: [TreeNode, TreeNode][] = [];
  while (Math.min(q1.peek(), q2.peek()) >= minHeight) {
    if (q1.peek() !== q2.peek()) {
      const higher = q1.peek() > q2.peek() ? q1 : q2;
      for (const node of higher.pop()) higher.open(node);
      continue;
    }
    const h1 = q1.pop();
    const h2 = q2.pop();
    const byHash = new Map<number, { a: TreeNode[]; b: TreeNode[] }>();
    for (const node of h1) (byHash.get(node.hash) ?? byHash.set(node.hash, { a: [], b: [] }).get(node.hash)!).a.push(node);
    for (const node of h2) (byHash.get(node.hash) ?? byHash.set(node.hash, { a: [], b: [] }).get(node.hash)!).b.push(node);
    const matched = new Set<TreeNode>();
    for (const { a, b } of byHash.values()) {
      if (a.length === 0 || b.length === 0) continue;
      if (a.length === 1 && b.length === 1) mapSubtrees(a[0]!, b[0]!, mapping);
      else for (const x of a) for (const y of b) ambiguous.push([x, y]);
      for (const node of [...a, ...b]) matched.add(node);
    }
    for (const node of h1) if (!matched.has(node)) q1.open(node);
    for (const node of h2) if (!matched.has(node)) q2.open(node);
  }
  // Among equal candidates, prefer those whose parents are most alike, then the closest in position.
  const scored = ambiguous.map(([a, b]) => ({
    a,
    b,
    dice: a.parent && b.parent ? dice(a.parent, b.parent, mapping) : 0,
    distance: Math.abs(a.id / Math.max(1, a.parent?.end ?? 1) - b.id / Math.max(1, b.parent?.end ?? 1)),
  }));
  scored.sort((x, y) => y.dice - x.dice || x.distance - y.distance);
  for (const { a, b } of scored) {
    if (!mapping.hasSrc(a) && !mapping.hasDst(b) && !anyMapped(a, mapping.srcToDst) && !anyMapped(b, mapping.dstToSrc))
      mapSubtrees(a, b, mapping);
  }
}

function anyMapped(node: TreeNode, map: Map<TreeNode, TreeNode>): boolean {
  if (map.has(node)) return true;
  return node.children.some((child) => anyMapped(child, map));
}

function descendants(node: TreeNode, tree: TreeNode[]): TreeNode[] {
  return tree.slice(node.id + 1, node.end);
}

/** The share of the two subtrees' descendants that are mapped onto each other. */
function dice(a: TreeNode, b: TreeNode, mapping: Mapping): number {
  const total = a.size - 1 + (b.size - 1);
  if (total === 0) return 0;
  let common = 0;
  const stack = [...a.children];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const image = mapping.srcToDst.get(node);
    if (image !== undefined && isDescendant(image, b)) common++;
    stack.push(...node.children);
  }
  return (2 * common) / total;
}

function bottomUp(src: SyntaxTree, dst: SyntaxTree, mapping: Mapping, minDice: number): void {
  // Postorder: children before their parents.
  const postorder = [...src.nodes].sort((x, y) => x.end - y.end || y.id - x.id);
  for (const node of postorder) {
    if (node === src.root) {
      if (!mapping.hasSrc(node) && !mapping.hasDst(dst.root)) mapping.add(node, dst.root);
      recover(node, mapping.srcToDst.get(node)!, mapping);
      continue;
    }
    if (mapping.hasSrc(node) || node.children.length === 0) continue;
    const candidates = new Set<TreeNode>();
    for (const d of descendants(node, src.nodes)) {
      for (let up = mapping.srcToDst.get(d)?.parent ?? null; up !== null; up = up.parent) {
        if (up.label === node.label && !mapping.hasDst(up)) candidates.add(up);
      }
    }
    let best: TreeNode | null = null;
    let bestDice = minDice;
    for (const candidate of candidates) {
      const score = dice(node, candidate, mapping);
      if (score > bestDice) {
        best = candidate;
        bestDice = score;
      }
    }
    if (best !== null) {
      mapping.add(node, best);
      recover(node, best, mapping);
    }
  }
}

/**
 * Aligns the still unmapped children of two mapped nodes in order: isomorphic ones first, then ones
 * of the same type and value, then of the same type, recursing into the pairs it makes. Children are
 * only aligned within the same gap between already mapped siblings, so an unmatched statement is never
 * paired with a look-alike from another part of the block.
 */
export function recover(a: TreeNode, b: TreeNode, mapping: Mapping): void {
  const same: ((x: TreeNode, y: TreeNode) => boolean)[] = [
    (x, y) => x.hash === y.hash,
    (x, y) => x.label === y.label && x.value === y.value,
    (x, y) => x.label === y.label,
  ];
  for (const equal of same) {
    for (const [left, right] of gaps(a, b, mapping)) {
      for (const [x, y] of longestCommonSubsequence(left, right, equal)) {
        if (x.hash === y.hash && !anyMapped(x, mapping.srcToDst) && !anyMapped(y, mapping.dstToSrc)) mapSubtrees(x, y, mapping);
        else {
          mapping.add(x, y);
          recover(x, y, mapping);
        }
      }
    }
  }
}

/** The runs of unmapped children of `a` and `b` that lie between the same mapped siblings. */
function gaps(a: TreeNode, b: TreeNode, mapping: Mapping): [TreeNode[], TreeNode[]][] {
  const result: [TreeNode[], TreeNode[]][] = [];
  let left: TreeNode[] = [];
  let j = 0;
  for (const child of a.children) {
    const image = mapping.srcToDst.get(child);
    const at = image === undefined ? -1 : b.children.indexOf(image, j);
    if (at === -1) {
      if (image === undefined) left.push(child);
      continue;
    }
    result.push([left, b.children.slice(j, at).filter((c) => !mapping.hasDst(c))]);
    left = [];
    j = at + 1;
  }
  result.push([left, b.children.slice(j).filter((c) => !mapping.hasDst(c))]);
  return result.filter(([x, y]) => x.length > 0 && y.length > 0);
}

function longestCommonSubsequence<T>(a: T[], b: T[], equal: (x: T, y: T) => boolean): [T, T][] {
  if (a.length === 0 || b.length === 0) return [];
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i]![j] = equal(a[i]!, b[j]!) ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const pairs: [T, T][] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (equal(a[i]!, b[j]!) && table[i]![j] === table[i + 1]![j + 1]! + 1) pairs.push([a[i++]!, b[j++]!]);
    else if (table[i + 1]![j]! >= table[i]![j + 1]!) i++;
    else j++;
  }
  return pairs;
}
