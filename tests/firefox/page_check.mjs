// Checks the page at /__otpsim/ in the OS package's Firefox, driven by puppeteer-core over WebDriver BiDi.
// Usage: node page_check.mjs URL   (URL: the page, e.g. http://127.0.0.1:PORT/__otpsim/#outbox)
// Protocol with the caller: prints {"ready": ...} once the page is live, then reads one line on stdin,
// the code the caller just sent, waits for it to show without a reload, and prints the result as JSON.
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const FIREFOX = process.env.OTPSIM_FIREFOX || "/usr/bin/firefox-esr";
const WAIT_MS = 5000;   // the page shows a send within a second; the margin is for a loaded CI machine

const url = process.argv[2];
if (!url) {
  console.error("usage: node page_check.mjs URL");
  process.exit(2);
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: FIREFOX,
  headless: true,
  defaultViewport: { width: 1280, height: 800 },
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector("#live")?.textContent === "live", { timeout: WAIT_MS });
  const codesAtLoad = await page.$$eval("#outbox-list li .code", (codes) => codes.map((code) => code.textContent));
  await page.evaluate(() => { window.notReloaded = true; });
  console.log(JSON.stringify({ ready: true, codesAtLoad }));

  const expected = (await lines.next()).value?.trim();
  await page.waitForFunction(
    (code) => document.querySelector("#outbox-list li .code")?.textContent === code, { timeout: WAIT_MS }, expected);
  const outbox = await page.$$eval("#outbox-list li", (items) => items.map((item) => ({
    code: item.querySelector(".code").textContent, text: item.textContent })));
  const notReloaded = await page.evaluate(() => window.notReloaded === true);

  // Keyboard only: the skip link, the title, then Outbox, Calls and receipts, Journal, Clock.
  for (let press = 0; press < 6; press++) await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement.textContent.trim());
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => !document.querySelector("#view-clock").hidden
    && document.querySelector("#clock-big").textContent !== "", { timeout: WAIT_MS });
  const clock = await page.evaluate(() => ({
    visible: document.querySelector("#view-clock").checkVisibility(),
    current: document.querySelector('nav a[data-view="clock"]').getAttribute("aria-current"),
    hash: location.hash,
    time: document.querySelector("#clock-big").textContent,
    mode: document.querySelector("#clock-mode-text").textContent,
  }));
  const userAgent = await browser.version();
  console.log(JSON.stringify({ userAgent, outbox, notReloaded, focused, clock, errors }));
} finally {
  await browser.close();
}
