import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { launchBrowser } from "../support/browser.js";

// The launcher's guards are what make the page tests able to fail: prove that they catch a console
// error, an uncaught error and a request to a non-loopback address, and stay quiet on a clean page.
const PAGES: Record<string, string> = {
  "/clean": "<!doctype html><title>ok</title><p id=p>hello</p><script src=/ok.js></script>",
  "/ok.js": "document.getElementById('p').textContent = 'ran';",
  "/dirty":
    "<!doctype html><title>dirty</title><img src='http://example.com/x.png'><script src=/bad.js></script>",
  "/bad.js": "console.error('boom'); setTimeout(() => { throw new Error('uncaught'); }, 0);",
};

let server: Server | undefined;
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;

afterEach(async () => {
  await browser?.close();
  browser = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(): Promise<string> {
  server = createServer((req, res) => {
    const body = PAGES[req.url ?? ""];
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": req.url?.endsWith(".js") ? "text/javascript" : "text/html" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe("test browser launcher", () => {
  it("runs a clean loopback page without complaint", async () => {
    const base = await serve();
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`${base}/clean`);
    await expect.poll(() => page.textContent("#p")).toBe("ran");
    browser.assertClean();
  });

  it("records console errors, page errors and non-loopback requests", async () => {
    const base = await serve();
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`${base}/dirty`);
    await expect.poll(() => browser!.problems.length).toBeGreaterThanOrEqual(2);
    await expect.poll(() => browser!.outsideRequests).toEqual(["http://example.com/x.png"]);
    expect(browser.problems.join("\n")).toMatch(/console error: boom/);
    expect(browser.problems.join("\n")).toMatch(/page error: uncaught/);
    expect(() => browser!.assertClean()).toThrow(/non-loopback address: http:\/\/example.com/);
  });
});
