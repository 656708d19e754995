// bench/propagation: propagation throughput on a long script with many versions, and accuracy on the
// corpus next to a line-based baseline (git merge-file), both measured in this process run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { propagate } from "../src/propagate/propagate.js";
import { buildCorpus, type CorpusCase, type Family } from "./propagation-corpus.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const line = (text: string): void => void process.stdout.write(`${text}\n`);

/** A deterministic pseudo-random sequence, so every run benchmarks the same versions. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A training script of ~300 lines: helpers, a config, and an epoch/step loop whose body computes many
 * named quantities. `version` k renames a few variables, adds and removes unrelated statements and
 * reformats some lines, as months of edits would; the newest version adds `logs` new flor.log statements.
 */
export function script(version: number, logs: number): string {
  const rand = random(version * 7919 + 1);
  const rename = (name: string): string => (version > 0 && rand() < 0.3 ? `${name}V${version}` : name);
  const helpers = Array.from(
    { length: 52 },
    (_, i) =>
      `function helper${i}(x: number, y: number): number {\n  const a = x * ${i + 1} + y;\n  return a > ${i} ? a - ${i} : a + ${i};\n}\n`,
  );
  const quantities = Array.from({ length: 20 }, (_, i) => ({ name: rename(`q${i}`), expr: `helper${i}(loss, ${i})` }));
  const body: string[] = [];
  quantities.forEach((q, i) => {
    body.push(`      const ${q.name} = ${q.expr};`);
    if (version > 0 && rand() < 0.15) body.push(`      const extra${i} = ${q.name} * ${version};`);
    if (i < logs) body.push(`      flor.log("m${i}", ${q.name});`);
  });
  const model = rename("model");
  return [
    `import { flor } from "flordb";`,
    `import { makeModel, train, batches } from "./lib.js";`,
    ``,
    ...helpers,
    `const lr = flor.arg("lr", ${version % 2 === 0 ? "0.1" : "0.05"});`,
    `const ${model} = makeModel();`,
    version % 3 === 0 ? `// version ${version}: ${"tweaks ".repeat(version % 5)}` : ``,
    `for (const epoch of flor.loop("epoch", 20)) {`,
    `  for (const batch of flor.loop("step", batches())) {`,
    `      const loss = train(${model}, batch, lr);`,
    `      flor.log("loss", loss);`,
    ...body,
    `  }`,
    `}`,
    ``,
  ].join("\n");
}

function throughput(): Record<string, number> {
  const versions = 50;
  const logs = 20;
  const newest = script(versions, logs);
  const olds = Array.from({ length: versions }, (_, v) => script(v, 0));
  propagate(newest, olds[0]!); // warm up the JIT
  const start = performance.now();
  let injected = 0;
  let declined = 0;
  const reports = olds.map((old) => propagate(newest, old));
  const seconds = (performance.now() - start) / 1000;
  // Right means: each m<i> logs the old version's name for q<i>, right after its declaration (and its extra line).
  let correct = 0;
  for (const report of reports) {
    injected += report.injected.length;
    declined += report.declined.length;
    const lines = report.code.split("\n");
    for (const { name, line: at } of report.injected) {
      const i = name.slice(1);
      const logged = new RegExp(`^ *flor\\.log\\("m${i}", (q${i}(V\\d+)?)\\);$`).exec(lines[at - 1] ?? "");
      if (logged === null) continue;
      const previous =
        lines
          .slice(0, at - 1)
          .filter((l) => !/const extra/.test(l))
          .at(-1) ?? "";
      if (new RegExp(`^ *const ${logged[1]} = helper${i}\\(loss, ${i}\\);$`).test(previous)) correct++;
    }
  }
  const propagations = versions * logs;
  const lines = newest.split("\n").length;
  line(
    `| ${propagations} propagations (${logs} statements × ${versions} versions of a ${lines}-line script) | ${seconds.toFixed(2)} s | ${Math.round(propagations / seconds)} per second | ${injected} injected (${correct} checked right), ${declined} declined | target < 5 s |`,
  );
  return { propagations, seconds, perSecond: propagations / seconds, injected, correct, declined, lines };
}

/** The baseline: a three-way line merge of the old version with the newest, whose base is the newest without the new statements. */
function mergeFileBaseline(newCode: string, oldCode: string, newLines: Set<number>, dir: string): string | null {
  const base = newCode
    .split("\n")
    .filter((_, i) => !newLines.has(i + 1))
    .join("\n");
  writeFileSync(path.join(dir, "ours"), oldCode);
  writeFileSync(path.join(dir, "base"), base);
  writeFileSync(path.join(dir, "theirs"), newCode);
  try {
    return execFileSync("git", ["merge-file", "-p", "ours", "base", "theirs"], { cwd: dir, encoding: "utf8" });
  } catch {
    return null; // conflicts: the baseline gives no answer
  }
}

/** The lines of the new version's flor.log statements that the old version does not have (by name). */
function newStatementLines(newCode: string, oldCode: string): Set<number> {
  const lines = newCode.split("\n");
  const found = new Set<number>();
  lines.forEach((text, i) => {
    const match = /^\s*flor\.log\("([^"]+)"/.exec(text);
    if (match === null || oldCode.includes(`flor.log("${match[1]}"`)) return;
    let depth = 0;
    for (let j = i; j < lines.length; j++) {
      found.add(j + 1);
      for (const ch of lines[j]!) depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
      if (depth <= 0) break;
    }
  });
  return found;
}

function accuracy(): Record<string, number> {
  const corpus = path.join(here, "../test/fixtures/propagation");
  const dir = mkdtempSync(path.join(tmpdir(), "flor-merge-"));
  const tally = {
    cases: 0,
    oursCorrect: 0,
    oursDeclined: 0,
    oursWrong: 0,
    baselineCorrect: 0,
    baselineNoAnswer: 0,
    baselineWrong: 0,
    baselineRightOursNot: 0,
  };
  for (const name of readdirSync(corpus, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    const read = (file: string): string => readFileSync(path.join(corpus, name, file), "utf8");
    const { expect } = JSON.parse(read("case.json")) as { expect: "inject" | "decline" | "present" };
    const extension = path.extname(readdirSync(path.join(corpus, name)).find((f) => f.startsWith("new."))!);
    const newCode = read(`new${extension}`);
    const oldCode = read(`old${extension}`);
    const right = expect === "inject" ? read(`expected${extension}`) : oldCode;
    tally.cases++;

    const ours = propagate(newCode, oldCode, { filename: `train${extension}` });
    const oursDeclined = ours.declined.length > 0 && ours.injected.length === 0;
    const oursRight = ours.code === right && (expect !== "decline" || ours.declined.length > 0);
    if (oursRight) tally.oursCorrect++;
    else if (oursDeclined || (ours.declined.length > 0 && expect === "inject")) tally.oursDeclined++;
    else tally.oursWrong++;

    const merged = mergeFileBaseline(newCode, oldCode, newStatementLines(newCode, oldCode), dir);
    const baselineRight = merged === null ? expect === "decline" : merged === right && expect !== "decline";
    if (merged === null && expect !== "decline") tally.baselineNoAnswer++;
    else if (baselineRight) tally.baselineCorrect++;
    else tally.baselineWrong++;
    if (baselineRight && !oursRight) tally.baselineRightOursNot++;
  }
  rmSync(dir, { recursive: true, force: true });
  line(
    `| accuracy on the ${tally.cases}-case corpus | git merge-file: ${tally.baselineCorrect} correct, ${tally.baselineNoAnswer} no answer (conflict), ${tally.baselineWrong} wrong | flor: ${tally.oursCorrect} correct, ${tally.oursDeclined} declined, ${tally.oursWrong} wrong | cases the baseline gets right and flor does not: ${tally.baselineRightOursNot} | target: 0 wrong, 0 such cases |`,
  );
  return tally;
}

/**
 * Lines as they execute: indentation, blank lines, comment lines and a statement's closing `;` (which
 * propagation adds in code that uses them) do not change what runs where.
 */
function normalized(code: string): string {
  return code
    .replace(/\r\n/g, "\n")
    .split("\n")
    .map((l) => l.trim().replace(/;$/, ""))
    .filter((l) => l !== "" && !l.startsWith("//") && !l.startsWith("/*") && !l.startsWith("*"))
    .join("\n");
}

type Outcome = "correct" | "wrong" | "declined";

/** flor propagate on one case: right where the patched code is the expected one and the name is reported injected. */
export function scoreFlor(c: CorpusCase): { outcome: Outcome; why: string } {
  let report: ReturnType<typeof propagate>;
  try {
    report = propagate(c.newCode, c.oldCode, { filename: c.filename });
  } catch (error) {
    return { outcome: "declined", why: `error: ${(error as Error).message}` };
  }
  const injected = report.injected.some((i) => i.name === c.name);
  const declined = report.declined.find((d) => d.name === c.name);
  if (injected && normalized(report.code) === normalized(c.expected)) return { outcome: "correct", why: "" };
  if (declined !== undefined && !injected && report.code === c.oldCode) return { outcome: "declined", why: declined.reason };
  const accounted = injected || declined !== undefined || report.present.some((p) => p.name === c.name);
  return { outcome: "wrong", why: accounted ? (injected ? "misplaced" : "reported present or declined with changes") : "skipped silently" };
}

/** git merge-file on one case: ours = old, base = newest without the change, theirs = newest; a conflict declines. */
function scoreMergeFile(c: CorpusCase, dir: string): Outcome {
  writeFileSync(path.join(dir, "ours"), c.oldCode);
  writeFileSync(path.join(dir, "base"), c.baseCode);
  writeFileSync(path.join(dir, "theirs"), c.newCode);
  let merged: string;
  try {
    merged = execFileSync("git", ["merge-file", "-p", "ours", "base", "theirs"], { cwd: dir, encoding: "utf8" });
  } catch {
    return "declined";
  }
  return normalized(merged) === normalized(c.expected) ? "correct" : "wrong";
}

const FAMILIES: Family[] = ["leave-in", "leave-out", "wrap"];

/**
 * Accuracy on cases built from real histories (bench/propagation-corpus.ts), next to git merge-file.
 * Skipped, with a message, when the repositories are not on this machine.
 */
function realHistories(): Record<string, unknown> | null {
  const root = process.env["FLOR_PROPAGATION_REPOS"] ?? "/work/.mirror";
  const { cases, missing, sources } = buildCorpus(root, 300);
  if (cases.length === 0) {
    line(
      `| real histories | skipped: none of the repositories is under ${root} (set FLOR_PROPAGATION_REPOS; see bench/propagation-corpus.ts for how to get them) | | | |`,
    );
    return null;
  }
  const dir = mkdtempSync(path.join(tmpdir(), "flor-merge-"));
  const tally: Record<string, Record<Outcome, number>> = {};
  const failures: Record<string, string[]> = {};
  const add = (key: string, outcome: Outcome): void => {
    tally[key] ??= { correct: 0, wrong: 0, declined: 0 };
    tally[key]![outcome]++;
  };
  const start = performance.now();
  for (const c of cases) {
    const ours = scoreFlor(c);
    add(`flor/${c.family}`, ours.outcome);
    add("flor/all", ours.outcome);
    if (ours.outcome === "correct") continue;
    const category = `${ours.outcome}: ${ours.why
      .replace(/`[^`]*`/g, "`…`")
      .replace(/lines? [\d–]+( and \d+)?/g, "line N")
      .replace(/"[^"]*"/g, '"…"')}`;
    failures[category] = [...(failures[category] ?? []), c.id];
  }
  const seconds = (performance.now() - start) / 1000;
  for (const c of cases) {
    const outcome = scoreMergeFile(c, dir);
    add(`merge-file/${c.family}`, outcome);
    add("merge-file/all", outcome);
  }
  rmSync(dir, { recursive: true, force: true });
  const cell = (key: string): string => {
    const t = tally[key] ?? { correct: 0, wrong: 0, declined: 0 };
    const n = t.correct + t.wrong + t.declined;
    const pct = (k: Outcome): string => ((100 * t[k]) / Math.max(1, n)).toFixed(1);
    return `${pct("correct")} / ${pct("wrong")} / ${pct("declined")}`;
  };
  const counts = FAMILIES.map((f) => `${f} (${cases.filter((c) => c.family === f).length})`);
  line(
    `\nReal histories (${sources.join(", ")}${missing.length > 0 ? `; missing: ${missing.join(", ")}` : ""}): ${cases.length} cases, flor ${seconds.toFixed(2)} s\n`,
  );
  line(`| correct / wrong / declined (%) | ${counts.join(" | ")} | all |`);
  line("| --- | --- | --- | --- | --- |");
  for (const tool of ["merge-file", "flor"])
    line(
      `| ${tool === "flor" ? "`flor propagate`" : "`git merge-file`"} | ${[...FAMILIES, "all"].map((f) => cell(`${tool}/${f}`)).join(" | ")} |`,
    );
  const sorted = Object.entries(failures).sort((a, b) => b[1].length - a[1].length);
  line("\nflor's failures by reason:");
  for (const [why, ids] of sorted) line(`- ${ids.length} × ${why} (e.g. ${ids[0]})`);
  return { cases: cases.length, sources, missing, seconds, tally, failures: Object.fromEntries(sorted.map(([k, v]) => [k, v.length])) };
}

export function benchPropagation(): Record<string, unknown> {
  line("\n## bench/propagation\n");
  line("| what | time / baseline | result | detail | target |");
  line("| --- | --- | --- | --- | --- |");
  return { throughput: throughput(), accuracy: accuracy(), realHistories: realHistories() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = benchPropagation();
  // The scores on the real histories are kept with the bench (the sources are not: see propagation-corpus.ts).
  if (results["realHistories"] !== null)
    writeFileSync(
      path.join(here, "propagation-scores.json"),
      `${JSON.stringify({ date: new Date().toISOString(), ...results }, null, 2)}\n`,
    );
  process.stdout.write(`\n${JSON.stringify(results, null, 2)}\n`);
}
