// What the browser journeys share: Debian's Chromium driven by playwright-core, a fresh
// context per journey (desktop or phone), the local stack's mailbox, sign-in through
// the API for journeys about something else, axe for accessibility, and screenshots.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { request } from "node:http";
import { crc32, deflateSync } from "node:zlib";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

export const BASE = process.env.SORA_BASE_URL ?? "http://127.0.0.1:3000";
const SHOTS = resolve(import.meta.dirname, "../../docs/screenshots");

export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
export const DESKTOP = { viewport: { width: 1280, height: 860 } };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page in a fresh context; any console error or CSP violation fails the journey. */
export async function open(browser, options = DESKTOP) {
  const context = await browser.newContext({ ...options, baseURL: BASE, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") page.problems.push(m.text());
  });
  page.on("pageerror", (e) => page.problems.push(String(e)));
  return page;
}

/** No console error and no Content-Security-Policy violation on the page so far. */
export function assertClean(page, allowed = []) {
  const left = page.problems.filter((p) => !allowed.some((a) => p.includes(a)));
  assert.deepEqual(left, [], "console errors or CSP violations");
}

export function uniqueEmail(tag) {
  return `web-${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

export async function mails(to) {
  const res = await fetch(`${BASE}/_local/emails?to=${encodeURIComponent(to)}`);
  return (await res.json()).items;
}

/** Waits for a mail to `to` whose subject has `subject` (after `skip` such mails). */
export async function waitMail(to, subject, skip = 0) {
  for (let i = 0; i < 100; i++) {
    const found = (await mails(to)).filter((m) => m.subject.toLowerCase().includes(subject.toLowerCase()));
    if (found.length > skip) return found[found.length - 1];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail "${subject}" to ${to}`);
}

export function codeIn(mail) {
  const m = /\b(\d{6})\b/.exec(mail.text);
  assert.ok(m, "a six-digit code in the mail");
  return m[1];
}

/**
 * A call to the API from `from` (a loopback address: 127.0.0.1 unless given). The
 * people of different journeys sign up from different addresses, as they would, so that
 * the per-IP limits (20 codes an hour) see many people, not one.
 */
export function api(path, { method = "GET", token, body, from } = {}) {
  const payload = body ? JSON.stringify(body) : undefined;
  return new Promise((resolvePromise, reject) => {
    const req = request(
      `${BASE}${path}`,
      {
        method,
        localAddress: from,
        headers: {
          ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolvePromise({ status: res.statusCode, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function someone() {
  return `127.0.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 2}`;
}

/** Signs up through the API (for journeys about something else); returns the token. */
export async function signUpByApi(email) {
  const from = someone();
  const before = (await mails(email)).length;
  assert.equal((await api("/v1/auth/email/start", { method: "POST", body: { email }, from })).status, 202);
  const mail = await waitMail(email, "code", before);
  const r = await api("/v1/auth/email/verify", {
    method: "POST",
    body: { email, code: codeIn(mail), over_13: true },
    from,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.token;
}

/** A page already signed in with `token` (the app keeps it in localStorage). */
export async function signedInPage(browser, token, options = DESKTOP, { cookieChoice = true } = {}) {
  const page = await open(browser, options);
  await page.context().addInitScript(([t, choose]) => {
    if (sessionStorage.getItem("seeded")) return;
    sessionStorage.setItem("seeded", "1");
    localStorage.setItem("sora2.session", t);
    // Journeys not about cookies start with a choice made, so the banner stays away.
    if (choose)
      localStorage.setItem(
        "sora2.cookies",
        JSON.stringify({ analytics: false, marketing_cookies: false, policy_version: "", synced: true }),
      );
  }, [token, cookieChoice]);
  return page;
}

/** axe-core on the page as it is: no WCAG 2.2 A/AA violation of moderate impact or above. */
export async function assertAccessible(page, what) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  const bad = result.violations.filter((v) => ["moderate", "serious", "critical"].includes(v.impact));
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `accessibility of ${what}`,
  );
}

export async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SHOTS, `${name}.png`), fullPage: false });
}

export async function waitFor(check, what, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The account's consent history, as the local stack stores it (R23). */
export async function consentHistory(accountId) {
  const dump = await (await fetch(`${BASE}/_local/dump`)).json();
  const [, items] = Object.entries(dump.tables).find(([name]) => name.toLowerCase().includes("privacy"));
  return items
    .filter((i) => JSON.stringify(i).includes(accountId) && "source" in i && "policy_version" in i)
    .sort((a, b) => a.at.localeCompare(b.at));
}

/**
 * An UpdateItem on the stack's local DynamoDB (its JSON protocol; the local endpoint
 * takes any signature): for fixtures no page can make, such as an account that
 * accepted an older policy.
 */
export async function dynamoUpdate(logicalId, key, expression, values) {
  const endpoint = process.env.SORA_AWS_ENDPOINT;
  assert.ok(endpoint, "SORA_AWS_ENDPOINT: the stack's local AWS endpoint");
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, "");
  const call = (action, body) =>
    fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `DynamoDB_20120810.${action}`,
        authorization: `AWS4-HMAC-SHA256 Credential=local/${day}/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    });
  // The stack names its tables `{prefix}-{LogicalId}`.
  const { TableNames } = await (await call("ListTables", {})).json();
  const table = TableNames.find((n) => n.endsWith(`-${logicalId}`));
  assert.ok(table, `a table for ${logicalId}`);
  const res = await call("UpdateItem", {
    TableName: table,
    Key: key,
    UpdateExpression: expression,
    ExpressionAttributeValues: values,
  });
  assert.equal(res.status, 200, await res.text());
}

/**
 * A real 80 × 80 grey PNG (the smallest image Rekognition reads); with `screening`, the
 * `tEXt` chunk `local-screening` the local Rekognition answers from
 * (`labels=Violence;faces=34`).
 */
export function png(screening) {
  const chunk = (kind, data) => {
    const body = Buffer.concat([Buffer.from(kind, "latin1"), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const side = 80;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header.set([8, 0, 0, 0, 0], 8);
  const rows = Buffer.alloc(side * (side + 1), 0x80);
  for (let y = 0; y < side; y++) rows[y * (side + 1)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    ...(screening ? [chunk("tEXt", Buffer.from(`local-screening\0${screening}`, "latin1"))] : []),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
