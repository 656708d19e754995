// Makes the template a new embedded store starts from (see src/store/store-template.ts): an empty store,
// created and migrated here, dumped by PGlite into dist/store-template/. Part of `npm run build`, after tsc;
// skipped when neither the template's key (PGlite's version, the migrations' names) nor the migrations' source
// (an unshipped migration may still be edited) has changed.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { layoutFor } from "../dist/project-layout.js";
import { openStore } from "../dist/store/open-store.js";
import { TEMPLATE_DUMP, TEMPLATE_KEY, templateKey } from "../dist/store/store-template.js";

const source = fileURLToPath(new URL("../src/store/migrations.ts", import.meta.url));
const stamp = `${await templateKey()}\n${createHash("sha256").update(readFileSync(source)).digest("hex")}\n`;
if (existsSync(TEMPLATE_DUMP) && existsSync(TEMPLATE_KEY) && readFileSync(TEMPLATE_KEY, "utf8") === stamp) process.exit(0);

const dir = mkdtempSync(path.join(tmpdir(), "flor-store-template-"));
try {
  execFileSync("git", ["init", "-q", dir]);
  const layout = layoutFor(dir);
  await (await openStore(layout, { databaseUrl: "", template: false })).close();
  const pglite = await PGlite.create({ dataDir: layout.databaseDir });
  const dump = await pglite.dumpDataDir("gzip");
  await pglite.close();
  rmSync(path.dirname(TEMPLATE_DUMP), { recursive: true, force: true });
  mkdirSync(path.dirname(TEMPLATE_DUMP), { recursive: true });
  writeFileSync(TEMPLATE_DUMP, new Uint8Array(await dump.arrayBuffer()));
  writeFileSync(TEMPLATE_KEY, stamp);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
