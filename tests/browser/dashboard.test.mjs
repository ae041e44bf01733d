// The dashboard in a real browser: Debian's Chromium driven by playwright-core.
//
// Starts `pacekeeper serve` on 127.0.0.1:0 with --trust-client-time and a fresh data
// directory, drives traffic through the API with `at`, then checks what operators and members
// see against what the API answers. Every request the browser makes must stay on 127.0.0.1,
// and no page may log an error.
//
// Environment: PACEKEEPER_BIN (the binary), CHROMIUM (default /usr/bin/chromium),
// SCREENSHOTS (a folder: the overview and a member page are saved there).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const ADMIN = "admin-" + "a1b2c3d4e5f6a7b8c9d0e1f2";
const DECIDE = "decide-" + "0f1e2d3c4b5a69788796a5b4";
const bin = process.env.PACEKEEPER_BIN ?? new URL("../../target/debug/pacekeeper", import.meta.url).pathname;

// The traffic's instant: the start of the current minute, five minutes back. Admin actions
// (lift) run on the server's own clock, so the traffic stays close to it.
const T0 = Math.floor(Date.now() / 60000) * 60000 - 5 * 60000;
const at = (ms) => new Date(T0 + ms).toISOString().replace(".000Z", "Z");
const VIEW_AT = at(4 * 60000);

let server, base, dataDir, browser, context;
const requests = [];
const consoleErrors = [];
// Pages opened to see them refused: the browser logs their status as an error.
const refusedOnPurpose = new Set();

async function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), "pk-browser-"));
  server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data", dataDir, "--trust-client-time"], {
    env: { ...process.env, PACEKEEPER_ADMIN_TOKEN: ADMIN, PACEKEEPER_DECIDE_TOKEN: DECIDE },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server printed no address in 20 s:\n" + log)), 20000);
    const seen = (chunk) => {
      log += chunk;
      const m = log.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    };
    server.stdout.on("data", seen);
    server.stderr.on("data", seen);
    server.on("exit", (code) => reject(new Error(`the server exited (${code}):\n${log}`)));
  });
}

async function api(method, path, body, token = ADMIN, headers = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const decide = (member, action, ms, extra = {}) =>
  api("POST", "/v1/decide", { member, action, at: at(ms), ...extra }, DECIDE);

async function driveTraffic() {
  // ada: 40 invitations pass the burst limit, the next are denied and restrict her.
  for (let i = 0; i < 44; i++) await decide("ada", "invite", i * 1000, { target: `t${i}` });
  // bob: a few profile views.
  for (let i = 0; i < 5; i++) await decide("bob", "profile_view", 60000 + i * 1000);
  // cy: over the hourly message limit.
  for (let i = 0; i < 23; i++) await decide("cy", "message", 120000 + i * 1000, { target: `m${i}` });
}

before(async () => {
  base = await startServer();
  await driveTraffic();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  context.on("request", (r) => requests.push(r.url()));
  context.on("page", watch);
  const page = await context.newPage();
  await page.goto(`${base}/ui/login`);
  await page.fill("input[name=token]", ADMIN);
  await Promise.all([page.waitForURL(`${base}/ui`), page.click("button[type=submit]")]);
  await page.close();
});

function watch(page) {
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (refusedOnPurpose.has(page.url()) && m.text().includes("status of 403")) return;
    consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
}

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function open(path) {
  const page = await context.newPage();
  const res = await page.goto(base + path);
  return { page, res };
}

async function shot(page, name) {
  if (!process.env.SCREENSHOTS) return;
  mkdirSync(process.env.SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(process.env.SCREENSHOTS, name), fullPage: true });
}

test("the overview's tiles equal /v1/stats", async () => {
  const stats = (await api("GET", `/v1/stats?at=${VIEW_AT}`)).json;
  assert.ok(stats.tiles.decisions_last_hour >= 72, JSON.stringify(stats.tiles));
  const { page } = await open(`/ui?at=${VIEW_AT}`);
  const tile = async (k) => (await page.textContent(`[data-tile=${k}] .value`)).trim();
  for (const k of ["decisions_last_minute", "decisions_last_hour", "restrictions_active", "fail_open_last_hour",
    "restrictions_started_24h"]) {
    assert.equal(await tile(k), String(stats.tiles[k]), k);
  }
  for (const k of ["deny_share_last_hour", "near_limit_share_last_hour"]) {
    const shown = parseFloat(await tile(k));
    assert.ok(Math.abs(shown - stats.tiles[k] * 100) <= 0.05, `${k}: ${shown} against ${stats.tiles[k]}`);
  }
  assert.equal(stats.tiles.restrictions_active, 1, "ada is restricted");
  await shot(page, "overview.png");
  await page.close();
});

test("the decisions chart has one series per reason present, and its table the same totals", async () => {
  const stats = (await api("GET", `/v1/stats?at=${VIEW_AT}`)).json;
  const totals = {};
  for (const m of stats.minutes) for (const [r, n] of Object.entries(m.by_reason)) totals[r] = (totals[r] ?? 0) + n;
  const { page } = await open(`/ui?at=${VIEW_AT}`);
  const series = await page.$$eval("#decisions-1h g.series", (gs) => gs.map((g) => g.dataset.series));
  assert.deepEqual([...series].sort(), Object.keys(totals).sort());
  assert.ok(series.includes("ok") && series.includes("limit_exceeded"), series.join());
  const head = await page.$$eval("table[data-table=decisions-1h] thead th", (ths) => ths.map((t) => t.textContent.trim()));
  const total = await page.$$eval("table[data-table=decisions-1h] tr.total td", (tds) => tds.map((t) => t.textContent.trim()));
  head.slice(1).forEach((reason, i) => assert.equal(total[i + 1], String(totals[reason]), reason));
  await page.close();
});

test("the member page reads the remaining count and reset time the API gives", async () => {
  const m = (await api("GET", `/v1/members/ada?at=${VIEW_AT}`)).json;
  const weekly = m.limits.find((l) => l.name === "weekly_invitations");
  const { page } = await open(`/ui/members/ada?at=${VIEW_AT}`);
  const row = page.locator("tr[data-limit=weekly_invitations]");
  assert.equal((await row.locator(".remaining").textContent()).trim(), String(weekly.remaining));
  assert.equal(weekly.remaining, 60);
  assert.equal(await row.locator(".resets time").getAttribute("datetime"), weekly.resets_at);
  const d = new Date(weekly.resets_at);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  const shown = `${day} ${weekly.resets_at.slice(0, 10)} ${weekly.resets_at.slice(11, 16)} UTC`;
  assert.equal((await row.locator(".resets").textContent()).trim(), shown);
  await shot(page, "member.png");
  await page.close();
});

test("lifting a restriction on the member page shows in the API and the audit log", async () => {
  assert.equal((await api("GET", "/v1/members/ada")).json.restrictions.length, 1);
  const { page } = await open(`/ui/members/ada`);
  await page.fill("form[data-action=lift] input[name=why]", "appeal accepted");
  await Promise.all([page.waitForURL(/done=lift/), page.click("form[data-action=lift] button")]);
  assert.match(await page.textContent("[role=status]"), /lifted/i);
  const after = (await api("GET", "/v1/members/ada")).json;
  assert.equal(after.restrictions.length, 0);
  assert.equal(after.history.at(-1).ending, "lifted");
  const audit = (await api("GET", "/v1/audit")).json.entries;
  assert.equal(audit[0].action, "lift");
  assert.equal(audit[0].member, "ada");
  assert.equal(audit[0].why, "appeal accepted");
  assert.equal(audit[0].who, "PACEKEEPER_ADMIN_TOKEN");
  await page.goto(`${base}/ui/audit`);
  assert.match(await page.textContent("table[data-table=audit] tbody tr"), /appeal accepted/);
  await page.close();
});

test("a form posted from another origin is refused", async () => {
  const res = await context.request.post(`${base}/ui/members/ada/verify`, {
    form: { why: "forged" },
    headers: { origin: "http://evil.example" },
  });
  assert.equal(res.status(), 403);
  assert.equal((await api("GET", "/v1/audit")).json.entries.filter((e) => e.why === "forged").length, 0);
});

test("a member's own link works, and fails once expired or altered", async () => {
  const link = (await api("POST", "/v1/members/bob/view-link", { ttl_seconds: 3600 })).json;
  const own = await browser.newContext();
  own.on("request", (r) => requests.push(r.url()));
  own.on("page", watch);
  const page = await own.newPage();
  const ok = await page.goto(base + link.path);
  assert.equal(ok.status(), 200);
  const views = (await api("GET", "/v1/members/bob")).json.limits.find((l) => l.name === "daily_profile_views");
  assert.equal((await page.textContent("tr[data-limit=daily_profile_views] .remaining")).trim(), String(views.remaining));
  assert.equal(await page.locator("form").count(), 0, "the member's view has no forms");
  const later = new Date(Date.parse(link.expires_at) + 1000).toISOString();
  const sig = link.path.match(/sig=([0-9a-f]+)/)[1];
  const altered = link.path.replace(sig, sig.slice(0, -1) + (sig.endsWith("0") ? "1" : "0"));
  const otherMember = link.path.replace("/me/bob", "/me/ada");
  for (const p of [`${link.path}&at=${later}`, altered, otherMember]) refusedOnPurpose.add(base + p);
  const expired = await page.goto(`${base}${link.path}&at=${later}`);
  assert.equal(expired.status(), 403);
  assert.match(await page.textContent("[role=alert]"), /expired/);
  assert.equal((await page.goto(base + altered)).status(), 403);
  assert.match(await page.textContent("[role=alert]"), /does not match/);
  assert.equal((await page.goto(base + otherMember)).status(), 403, "a link opens only its own member");
  await own.close();
});

test("without a session the pages ask for a login", async () => {
  const fresh = await browser.newContext();
  fresh.on("request", (r) => requests.push(r.url()));
  const page = await fresh.newPage();
  await page.goto(`${base}/ui/members/ada`);
  assert.match(page.url(), /\/ui\/login\?next=/);
  await page.fill("input[name=token]", DECIDE);
  await page.click("button[type=submit]");
  assert.match(await page.textContent("[role=alert]"), /lacks the `admin` scope/);
  await fresh.close();
});

test("no page logged an error and no request left 127.0.0.1", () => {
  assert.deepEqual(consoleErrors, []);
  assert.ok(requests.length > 10, `${requests.length} requests seen`);
  const away = requests.filter((u) => new URL(u).hostname !== "127.0.0.1");
  assert.deepEqual(away, []);
});
