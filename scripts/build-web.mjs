#!/usr/bin/env node
// Builds the portal page (src/web/) into assets/portal/: app.js (esbuild bundle of main.ts with
// Preact, htm and graphql-ws; no CDN), app.css and index.html. The output is committed, so
// Hookgate serves it without a build step at install; `npm run generate` (and so /work/bin/land)
// rebuilds it, and test/web-assets.test.ts fails when the committed files are stale.
//
//   node scripts/build-web.mjs [--check]     --check: build in memory, exit 1 when assets/ differ
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "assets/portal");
const check = process.argv.includes("--check");

const bundle = await build({
  entryPoints: [path.join(root, "src/web/main.ts")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  charset: "utf8",
  write: false,
  logLevel: "warning",
});
const files = {
  "app.js": bundle.outputFiles[0].text,
  "app.css": readFileSync(path.join(root, "src/web/style.css"), "utf8"),
  "index.html": readFileSync(path.join(root, "src/web/index.html"), "utf8"),
};

if (check) {
  const stale = Object.entries(files).filter(([name, text]) => {
    try {
      return readFileSync(path.join(out, name), "utf8") !== text;
    } catch {
      return true;
    }
  });
  if (stale.length > 0) {
    process.stderr.write(
      `build-web: assets/portal/ is stale (${stale.map(([n]) => n).join(", ")}): run npm run build:web\n`,
    );
    process.exit(1);
  }
  process.stderr.write("build-web: assets/portal/ is current\n");
} else {
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(out, name), text);
  process.stderr.write(
    `build-web: wrote assets/portal/ (app.js ${Math.round(files["app.js"].length / 1024)} KiB)\n`,
  );
}
