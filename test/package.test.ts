import { execFile, spawn } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveUpdates } from "../src/domain/live.js";
import { FAST } from "./integration/delivery-fixtures.js";
import { untilSubscribed } from "./integration/live-fixtures.js";
import { startTestHookgate, type TestHookgate } from "./support/hookgate.js";

// The package the way users get it: `npm pack` (prepack compiles dist/ and the declarations), the tarball
// installed into a fresh project (dependencies from the npm cache), hookgate/client and hookgate/verify
// imported by name from plain Node and compiled against with tsc --strict, driving a real Hookgate.
// Embedded only (it is about the package, not the database), so it lives outside test/e2e.

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");
const FIXTURES = path.join(import.meta.dirname, "package");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");

describe("the packed package", { timeout: 600_000 }, () => {
  let dir: string;
  let app: string;
  let h: TestHookgate | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "hookgate-pack-"));
    await run("npm", ["pack", "--pack-destination", dir], { cwd: ROOT, timeout: 300_000 });
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    if (!tarball) throw new Error("npm pack wrote no tarball");
    app = path.join(dir, "app");
    mkdirSync(app);
    writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify({ name: "hookgate-user", private: true, type: "module" }),
    );
    await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", path.join(dir, tarball), "@types/node@20"],
      { cwd: app, timeout: 480_000 },
    );
    for (const f of readdirSync(FIXTURES)) copyFileSync(path.join(FIXTURES, f), path.join(app, f));
  }, 900_000);
  afterAll(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ships compiled JavaScript and declarations for both exports, and no sources", async () => {
    const { stdout } = await run("tar", [
      "tzf",
      path.join(dir, readdirSync(dir).find((f) => f.endsWith(".tgz"))!),
    ]);
    const files = stdout.split("\n");
    for (const f of [
      "dist/client/index.js",
      "dist/client/index.d.ts",
      "dist/verify.js",
      "dist/verify.d.ts",
    ]) {
      expect(files).toContain(`package/${f}`);
    }
    expect(files.filter((f) => f.startsWith("package/src/"))).toEqual([]);
  });

  it("runs the installed CLI from its bundle: version, and migrations on embedded PGlite", async () => {
    const bin = path.join(app, "node_modules/hookgate/bin/hookgate.js");
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    const env: NodeJS.ProcessEnv = { ...process.env, HOOKGATE_RUNTIME: "dist" };
    delete env.DATABASE_URL;
    expect((await run(process.execPath, [bin, "--version"], { cwd: app, env })).stdout.trim()).toBe(
      pkg.version,
    );
    const dataDir = path.join(dir, "data");
    const { stdout } = await run(process.execPath, [bin, "migrate"], {
      cwd: app,
      env: { ...env, HOOKGATE_DATA_DIR: dataDir },
      timeout: 120_000,
    });
    expect(stdout).toMatch(/^applied: \d{14}_init, /);
  });

  it("hookgate/verify needs nothing but node:crypto (its whole import graph, as installed)", () => {
    const pkg = path.join(app, "node_modules/hookgate");
    const seen = new Set<string>();
    const external = new Set<string>();
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/^\s*\/\/.*$/gm, "");
      for (const m of code.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
        const spec = m[1]!;
        if (spec.startsWith(".")) walk(path.resolve(path.dirname(file), spec));
        else external.add(spec);
      }
    };
    walk(path.join(pkg, "dist/verify.js"));
    expect([...external]).toEqual(["node:crypto"]);
    expect([...seen].map((f) => path.relative(pkg, f)).sort()).toEqual([
      "dist/signing/index.js",
      "dist/verify.js",
    ]);
  });

  it("type-checks user code with tsc --strict, and refuses misuse", async () => {
    const tsconfig = {
      compilerOptions: {
        strict: true,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        noEmit: true,
        types: ["node"],
      },
    };
    writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({ ...tsconfig, files: ["typed.mts"] }));
    await run(process.execPath, [TSC, "-p", "."], { cwd: app });
    writeFileSync(
      path.join(app, "tsconfig.json"),
      JSON.stringify({ ...tsconfig, files: ["typed-wrong.mts"] }),
    );
    const wrong = await run(process.execPath, [TSC, "-p", "."], { cwd: app }).then(
      () => "compiled",
      (e: { stdout: string }) => e.stdout,
    );
    expect(wrong).toMatch(/typed-wrong\.mts.*error TS2322/);
  });

  it("drives a running Hookgate from plain Node: typed results, a verified delivery, the subscription iterator, auth errors", async () => {
    h = await startTestHookgate({ role: "all", config: FAST });
    const child = spawn(process.execPath, ["consumer.mjs"], {
      cwd: app,
      env: { ...process.env, HOOKGATE_URL: h.url, HOOKGATE_API_KEY: h.adminKey },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    const lines = readline.createInterface({ input: child.stdout! });
    const seen: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let failed: (err: unknown) => void = () => {};
    const failure = new Promise<never>((_, reject) => {
      failed = reject;
    });
    lines.on("line", (line) => {
      seen.push(line);
      if (line !== "subscribed") return;
      // Publish only once the server has registered the subscription.
      untilSubscribed(liveUpdates(h!.hookgate.app.db), 1, 60_000).then(
        () => child.stdin!.write("go\n"),
        (err: unknown) => failed(err),
      );
    });
    const timer = setTimeout(
      () => failed(new Error(`consumer timed out; stdout ${seen.join(" | ")}; stderr ${stderr}`)),
      240_000,
    );
    const code = await Promise.race([exited, failure]).finally(() => {
      clearTimeout(timer);
      child.kill();
    });
    expect(code, stderr).toBe(0);
    const out = JSON.parse(seen.at(-1)!);
    expect(out.eventType).toBe("CreateEventTypePayload");
    expect(out.invalid).toEqual(expect.arrayContaining(["input.url", "input.events"]));
    expect(out.statuses.at(-1)).toBe("SUCCEEDED");
    expect(out.verified).toEqual([out.eventId]);
    expect(out.httpAuth).toBe("UNAUTHENTICATED");
    expect(["UNAUTHENTICATED", "FORBIDDEN"]).toContain(out.wsAuth);
  });
});
