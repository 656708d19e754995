// Stylesheets are bundled by esbuild (scripts/build-web.mjs), not read by TypeScript.
declare module "*.css";

// Monaco reads its worker factory from this global.
declare var MonacoEnvironment: { getWorker(workerId: string, label: string): Worker } | undefined;
