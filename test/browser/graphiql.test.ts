import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "../support/browser.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

// GraphiQL at /graphql in a real Chromium whose requests to anything but loopback are aborted and
// recorded (and whose name resolution fails for every other host): the editor must come from
// Hookgate itself, and a visitor must be able to authenticate and run the operation it is shown.

/** Replaces the text of the Monaco editor inside `section` (insertText: no auto-closed brackets). */
async function setEditorText(page: Page, section: string, text: string) {
  // The Variables and Headers editors share the section; only the open one is visible.
  await page.locator(`${section} .monaco-editor .view-lines`).locator("visible=true").click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
}

describe("GraphiQL", () => {
  let h: TestHookgate;
  let browser: TestBrowser;

  beforeAll(async () => {
    h = await startTestHookgate({ config: { graphiql: true } });
    browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await h?.stop();
  });

  it("renders from Hookgate's own assets, says how to authenticate, and runs WhoAmI with a key", async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${h.url}/graphql`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-type"]).toMatch(/^text\/html/);
    await page.waitForSelector(".graphiql-container .graphiql-query-editor .monaco-editor", {
      timeout: 60_000,
    });
    expect(await page.title()).toBe("Hookgate");
    // Monaco renders spaces as no-break spaces.
    const editors = (await page.locator(".monaco-editor .view-lines").allTextContents())
      .join("\n")
      .replaceAll("\u00a0", " ");
    expect(editors).toContain("query WhoAmI");
    expect(editors).toMatch(/authorization[\s\S]*Bearer <your API key>/);

    // Until a key is in the Headers tab, the schema fetch on load is refused (401, as every request
    // without a valid key is); that is the only complaint the page may have.
    expect(browser.outsideRequests).toEqual([]);
    const unexpected = browser.problems.filter((p) => !/status of 401 .*\/graphql\)$/.test(p));
    expect(unexpected).toEqual([]);
    browser.problems.length = 0;

    await setEditorText(
      page,
      ".graphiql-editor-tool",
      JSON.stringify({ authorization: `Bearer ${h.adminKey}` }),
    );
    await page.click(".graphiql-execute-button");
    const response = page.locator(".graphiql-response");
    await expect.poll(() => response.textContent(), { timeout: 30_000 }).toContain("ADMIN");
    const text = await response.textContent();
    expect(text).toContain('"keyId"');
    expect(text).not.toContain("errors");

    // With the key in place the schema loads: the Docs pane lists the root operation types.
    await page.click('[aria-label^="Re-fetch GraphQL schema"]');
    await page.click('[aria-label="Show Documentation Explorer"]');
    await expect
      .poll(() => page.locator(".graphiql-doc-explorer").textContent(), { timeout: 30_000 })
      .toMatch(/Query[\s\S]*Mutation[\s\S]*Subscription/);
    browser.assertClean();
  }, 120_000);

  it("is not served when HOOKGATE_GRAPHIQL is off: a browser visit is told the setting", async () => {
    const off = await startTestHookgate({ config: { graphiql: false } });
    try {
      const res = await fetch(`${off.url}/graphql`, { headers: { accept: "text/html" } });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type") ?? "").not.toMatch(/text\/html/);
      const text = await res.text();
      expect(text).not.toContain("YogaGraphiQL");
      expect(JSON.parse(text).error).toContain("HOOKGATE_GRAPHIQL=true");
      // An operation in the URL is still the API's (GET with an Authorization header).
      const get = await fetch(`${off.url}/graphql?query=${encodeURIComponent("{ viewer { keyId } }")}`, {
        headers: { accept: "text/html", authorization: `Bearer ${off.adminKey}` },
      });
      expect(get.status).not.toBe(404);
    } finally {
      await off.stop();
    }
  });
});
