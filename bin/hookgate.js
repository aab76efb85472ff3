#!/usr/bin/env node
// Runs the compiled build (the CLI's bundle, dist/bundle/cli.js, from `npm run build`; npm ci and npm start
// make it) when it was built from the sources as they are now (scripts/dist-stamp.mjs: the stamp's hash of
// src/ and what else the build used, checked through the files' recorded stats or hashed again). Otherwise,
// in a checkout being edited, it runs the sources through tsx's loader: the same code, but ~100 MB more
// memory and a slower start. Never a stale build.
//
// HOOKGATE_RUNTIME=dist refuses to start without a current build (production, the benchmark);
// HOOKGATE_RUNTIME=source always runs the sources; unset or "auto" chooses as above.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { buildState } from "../scripts/dist-stamp.mjs";

const runtime = process.env.HOOKGATE_RUNTIME || "auto";
if (!["auto", "dist", "source"].includes(runtime)) {
  process.stderr.write(`hookgate: HOOKGATE_RUNTIME must be auto, dist or source (got "${runtime}")\n`);
  process.exit(2);
}

// V8 lets the old generation grow to ~4x its live size before a full collection (it sizes that for this
// machine's RAM, not for us): with ~50 MB live, the dispatcher's short-lived objects that survive a
// scavenge pile up to ~200 MB of garbage between full GCs, a ~150 MB sawtooth in the resident set. 1.5x
// keeps it flat at a few % more GC time. Read at each GC, so it can be set here; `node
// --heap-growing-percent=N bin/hookgate.js` overrides it.
if (!process.execArgv.some((a) => a.startsWith("--heap-growing-percent"))) {
  v8.setFlagsFromString("--heap-growing-percent=50");
}

const root = fileURLToPath(new URL("..", import.meta.url));
// Installed as a package there are no sources: the dist/ that came with it is the build.
const packaged = !existsSync(path.join(root, "src"));
const state = packaged ? "current" : runtime === "source" ? "unused" : buildState(root);
if (state === "current") {
  await import("../dist/bundle/cli.js");
} else {
  if (runtime === "dist") {
    process.stderr.write(
      `hookgate: HOOKGATE_RUNTIME=dist but the compiled build is ${state === "stale" ? "older than the sources" : "missing"}: run \`npm run build\`\n`,
    );
    process.exit(1);
  }
  // Node 20 cannot strip TypeScript types, so the sources run through tsx's loader.
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/index.ts");
}
