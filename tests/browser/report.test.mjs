// The simulator's report in a real browser: `pacekeeper simulate` writes it, Chromium opens
// the file. It must show its five plots and tables, log no error, and load nothing at all
// beyond the file itself.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const bin = process.env.PACEKEEPER_BIN ?? new URL("../../target/debug/pacekeeper", import.meta.url).pathname;

test("the simulation report opens with its plots, no error and no request beyond the file", async () => {
  const out = mkdtempSync(join(tmpdir(), "pk-report-"));
  try {
    execFileSync(bin, ["simulate", "--members", "300", "--weeks", "2", "--against", "linkedin-classic", "--out", out], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    const page = await browser.newPage();
    const errors = [];
    const requests = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => requests.push(r.url()));
    const file = pathToFileURL(join(out, "report.html")).href;
    await page.goto(file);
    assert.equal(await page.locator("svg").count(), 5);
    assert.equal(await page.locator("svg g.series[data-series=linkedin-classic]").count(), 1, "the trade-off plot has both runs");
    const head = await page.$$eval("#headline thead th", (ths) => ths.map((t) => t.textContent.trim()));
    assert.deepEqual(head, ["", "linkedin", "linkedin-classic"]);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [file]);
    await browser.close();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
