// R44: every page passes axe (no serious or critical WCAG 2.2 A/AA violation) on a
// desktop and a 390 px phone, works from the keyboard with a visible focus, and is
// screenshotted for the README; the policy page shows the owner's policy file.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  DESKTOP,
  PHONE,
  api,
  assertAccessible,
  assertClean,
  launch,
  open,
  screenshot,
  signedInPage,
  signUpByApi,
  uniqueEmail,
  waitFor,
} from "./harness.mjs";

const PUBLIC = [
  ["home", "/"],
  ["policy", "/privacy"],
  ["signin", "/signin"],
  ["unsubscribe", "/unsubscribe?token=abc.def"],
  ["cookie-settings", "/settings/cookies"],
  ["not-found", "/no-such-page"],
];
const SIGNED_IN = [
  ["create", "/create"],
  ["videos", "/videos"],
  ["credits", "/credits"],
  ["checkout-canceled", "/billing/success?status=canceled"],
  ["account", "/account"],
  ["privacy-settings", "/settings/privacy"],
  ["appeals", "/appeals"],
];

let browser;
let token;
before(async () => {
  browser = await launch();
  token = await signUpByApi(uniqueEmail("pages"));
  // A ready video, so that the videos page shows a player.
  const made = await api("/v1/videos", { method: "POST", token, body: { prompt: "Waves rolling onto a beach at sunset" } });
  assert.equal(made.status, 202, JSON.stringify(made.body));
  await waitFor(async () => (await api(`/v1/videos/${made.body.id}`, { token })).body.status === "ready", "a ready video");
});
after(() => browser?.close());

for (const [device, options] of [["desktop", DESKTOP], ["phone", PHONE]]) {
  test(`r44 every public page is accessible (${device})`, async () => {
    const page = await open(browser, options);
    for (const [name, path] of PUBLIC) {
      await page.goto(path);
      await page.locator("h1").first().waitFor();
      await page.waitForLoadState("networkidle");
      await assertAccessible(page, `${path} (${device})`);
      await screenshot(page, `${name}-${device}`);
    }
    assertClean(page, ["status of 404", "status of 400"]);
  });

  test(`r44 every signed-in page is accessible (${device})`, async () => {
    const page = await signedInPage(browser, token, options);
    for (const [name, path] of SIGNED_IN) {
      await page.goto(path);
      await page.locator("h1").first().waitFor();
      await page.waitForLoadState("networkidle");
      await page.getByText(/^Loading/).first().waitFor({ state: "detached" }).catch(() => undefined);
      await assertAccessible(page, `${path} (${device})`);
      await screenshot(page, `${name}-${device}`);
    }
    // Nothing is wider than a phone's screen.
    if (device === "phone") {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px)`);
    }
    assertClean(page);
  });
}

test("r44 the keyboard reaches everything with a visible focus, starting with the skip link", async () => {
  const page = await open(browser);
  await page.goto("/");
  await page.locator("h1").waitFor();
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement?.textContent);
  assert.equal(first, "Skip to content");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none", "focus is visible");
  // Tab through the page: every stop has an accessible name and a visible focus.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    const stop = await page.evaluate(() => {
      const el = document.activeElement;
      return { name: (el?.textContent || el?.getAttribute("aria-label") || "").trim(), outline: getComputedStyle(el).outlineStyle };
    });
    assert.ok(stop.name.length > 0, "a named control");
    assert.notEqual(stop.outline, "none", `focus visible on ${stop.name}`);
  }
  // The banner's buttons work from the keyboard.
  await page.getByRole("button", { name: "Reject all" }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("region", { name: "Cookies" }).waitFor({ state: "detached" });
  assertClean(page);
});

test("r44 the policy page shows the site owner's policy file", async () => {
  const file = readFileSync(
    resolve(import.meta.dirname, "../..", process.env.POLICY_FILE ?? "../shared/seed/privacy-policy.txt"),
    "utf8",
  );
  const page = await open(browser);
  await page.goto("/privacy");
  for (const line of file.split("\n").filter((l) => l.length > 60 && !l.startsWith("- ")).slice(0, 5)) {
    await page.getByText(line.trim(), { exact: true }).first().waitFor();
  }
  assertClean(page);
});

// Every page that loads something says so when the API answers 5xx, or cannot be
// reached at all, and loads on "Try again" once it is back: never "Loading…" for ever.
const LOADING = [
  ["/", "The models"],
  ["/create", "The models"],
  ["/videos", "Your videos"],
  ["/credits", "Your balance"],
  ["/settings/privacy", "Your settings"],
  ["/appeals", "Your appeals"],
  ["/privacy", "The privacy policy"],
];

const PROBLEM_503 = JSON.stringify({
  type: "https://www.sora2ai.info/problems/service_unavailable",
  title: "Service Unavailable",
  status: 503,
  detail: "a service this request depends on is unavailable; try again shortly",
  code: "service_unavailable",
});

for (const how of ["answers 5xx", "is unreachable"]) {
  test(`r44 every page says so when the API ${how}, and loads on Try again`, async () => {
    const page = await signedInPage(browser, token);
    const down = (route) =>
      how === "answers 5xx"
        ? route.fulfill({ status: 503, contentType: "application/problem+json", body: PROBLEM_503 })
        : route.abort("connectionrefused");
    const api = (url) => url.pathname.startsWith("/v1/") || url.pathname === "/privacy-policy.txt";
    for (const [path, what] of LOADING) {
      await page.route(api, down);
      await page.goto(path);
      const alert = page.getByRole("alert").filter({ hasText: `${what} could not be loaded` });
      await alert.waitFor();
      assert.equal(await page.getByText(/^Loading/).count(), 0, `${path}: not loading for ever`);
      if (path === "/credits") await screenshot(page, `error-state-${how === "answers 5xx" ? "5xx" : "unreachable"}`);
      await page.unroute(api, down);
      await alert.getByRole("button", { name: "Try again" }).click();
      await alert.waitFor({ state: "detached" });
    }
    assertClean(page, ["status of 503", "ERR_CONNECTION_REFUSED", "Failed to fetch", "ERR_FAILED"]);
  });
}

// The keyboard walk, on every page: each stop has a name and a visible focus.
test("r44 every page can be walked with the keyboard, each stop named and visibly focused", async () => {
  const page = await signedInPage(browser, token);
  for (const [, path] of [...PUBLIC.filter(([n]) => n !== "signin"), ...SIGNED_IN]) {
    await page.goto(path);
    await page.locator("h1").first().waitFor();
    await page.waitForLoadState("networkidle");
    await page.locator("body").focus();
    const seen = new Set();
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("Tab");
      const stop = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        // The accessible name's usual sources: aria-label, the control's labels, its text.
        const label =
          el.getAttribute("aria-label") ||
          (el.labels && el.labels.length ? el.labels[0].textContent : "") ||
          el.textContent ||
          el.getAttribute("title") ||
          el.getAttribute("value") ||
          "";
        const style = getComputedStyle(el);
        return {
          key: el.outerHTML.slice(0, 120),
          name: label.trim(),
          visible: style.outlineStyle !== "none" || style.boxShadow !== "none",
        };
      });
      if (!stop || seen.has(stop.key)) break;
      seen.add(stop.key);
      assert.ok(stop.name.length > 0, `${path}: a control without a name: ${stop.key}`);
      assert.ok(stop.visible, `${path}: focus not visible on ${stop.name}`);
    }
    assert.ok(seen.size > 3, `${path}: the keyboard reaches its controls (${seen.size})`);
  }
  assertClean(page, ["status of 404", "status of 400"]);
});
