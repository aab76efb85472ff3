import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/**
 * A real headless Chromium for tests of pages: Debian's /usr/bin/chromium (browser downloads are not
 * possible here; `.ci/run` installs the package when it is missing) driven by playwright-core, with a
 * fresh profile per launch. The launcher watches every page it opens:
 * - any request to a host that is not loopback is aborted and recorded (a page must need nothing from
 *   outside: no CDN, no fonts, no telemetry);
 * - console errors and uncaught page errors are recorded.
 * `assertClean()` throws when either list is not empty; call it at the end of each test (and `close()`
 * in afterEach/afterAll: it leaves no browser process or profile directory behind).
 */
export interface TestBrowser {
  context: BrowserContext;
  /** A new page (tab) in the browser, watched as described above. */
  newPage(): Promise<Page>;
  /** Console errors and uncaught page errors, as readable lines. */
  readonly problems: string[];
  /** Requests the page tried to make to non-loopback hosts (aborted). */
  readonly outsideRequests: string[];
  /** Throws when a console error, a page error or a non-loopback request was seen. */
  assertClean(): void;
  /** Saves a full-page screenshot to test-results/<name>.png; returns the path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export const CHROMIUM_PATH = process.env.HOOKGATE_TEST_CHROMIUM ?? "/usr/bin/chromium";
export const RESULTS_DIR = path.resolve(import.meta.dirname, "../../test-results");

const FLAGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  // Belt and braces beside the request routing below: name resolution fails for every host but
  // loopback, so nothing can leave the machine even from a context the router does not see.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
];

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function isLoopbackUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === "data:" || parsed.protocol === "blob:" || parsed.protocol === "about:") return true;
  return LOOPBACK_HOSTS.has(parsed.hostname);
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (bash .ci/run does) or set HOOKGATE_TEST_CHROMIUM`,
    );
  }
  const profile = mkdtempSync(path.join(tmpdir(), "hookgate-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: FLAGS,
      viewport: opts.viewport ?? { width: 1280, height: 900 },
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const problems: string[] = [];
  const outsideRequests: string[] = [];

  // Routing on the context covers every page and its workers; WebSocket connections are checked by
  // the host-resolver rule and by the "websocket" listener below.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLoopbackUrl(url)) return route.continue();
    outsideRequests.push(url);
    return route.abort("blockedbyclient");
  });

  function watch(page: Page): void {
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error: ${msg.text()} (${msg.location().url})`);
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("websocket", (ws) => {
      if (!isLoopbackUrl(ws.url().replace(/^ws/, "http"))) outsideRequests.push(ws.url());
    });
  }
  for (const page of context.pages()) watch(page);
  context.on("page", watch);

  return {
    context,
    problems,
    outsideRequests,
    newPage: () => context.newPage(),
    assertClean() {
      const lines = [...problems, ...outsideRequests.map((u) => `request to a non-loopback address: ${u}`)];
      if (lines.length > 0) throw new Error(`the browser saw problems:\n${lines.join("\n")}`);
    },
    async screenshot(page: Page, name: string) {
      mkdirSync(RESULTS_DIR, { recursive: true });
      const file = path.join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, "-")}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  } satisfies TestBrowser;
}
