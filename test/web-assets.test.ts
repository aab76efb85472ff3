import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// The portal's built assets are committed (assets/portal/); they must be a build of src/web/ as it
// is now. `npm run build:web` (also run by `npm run generate`) rebuilds them.
describe("assets/portal/", () => {
  it("is a current build of src/web/", () => {
    const res = spawnSync(process.execPath, ["scripts/build-web.mjs", "--check"], { encoding: "utf8" });
    expect(res.stderr).toMatch(/is current/);
    expect(res.status).toBe(0);
  });

  it("has no inline script, no eval and no address outside this origin", () => {
    const html = readFileSync("assets/portal/index.html", "utf8");
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const js = readFileSync("assets/portal/app.js", "utf8");
    expect(js).not.toMatch(/\beval\(|new Function\(/);
    // Only XML namespace names (never fetched) and the reserved example.com of a placeholder.
    const urls = `${html}${js}`.match(/https?:\/\/[a-z0-9.-]+\.[a-z]{2,}/gi) ?? [];
    expect(urls.filter((u) => !/^http:\/\/www\.w3\.org$|^https:\/\/example\.com$/.test(u))).toEqual([]);
  });
});
