// R49: a ready video shared by its owner opens in a fresh browser without sign-in, with
// its AI-generated label and the prompt the owner chose to show; the page is sent to no
// one and not indexed; revoked, the link ends.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, assertAccessible, assertClean, launch, open, screenshot, signedInPage, signUpByApi, uniqueEmail, waitFor } from "./harness.mjs";

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

test("r49 a shared video opens without sign-in, and its link ends when revoked", async () => {
  const token = await signUpByApi(uniqueEmail("share"));
  const made = await api("/v1/videos", { method: "POST", token, body: { prompt: "Waves rolling in at dusk", seconds: 4 } });
  assert.equal(made.status, 202, JSON.stringify(made.body));
  await waitFor(async () => (await api(`/v1/videos/${made.body.id}`, { token })).body.status === "ready", "a ready video");

  const page = await signedInPage(browser, token);
  await page.goto("/videos");
  const card = page.locator(".card.video").first();
  await card.getByText("Ready", { exact: true }).waitFor();
  await card.getByLabel("Show the prompt on the shared page").check();
  await card.getByRole("button", { name: "Create a share link" }).click();
  const url = await card.getByLabel(/^Share link/).inputValue();
  assert.match(url, /\/s\/[0-9a-f]{32}$/);

  // A fresh browser, nobody signed in.
  const viewer = await open(browser);
  const response = await viewer.goto(url);
  assert.equal(response.headers()["referrer-policy"], "no-referrer");
  assert.equal(response.headers()["x-robots-tag"], "noindex");
  await viewer.getByText("AI-generated").waitFor();
  await viewer.getByText("“Waves rolling in at dusk”").waitFor();
  const duration = await viewer.locator("video").evaluate(
    (v) =>
      new Promise((resolve) => {
        if (v.readyState >= 1) return resolve(v.duration);
        v.addEventListener("loadedmetadata", () => resolve(v.duration));
        v.addEventListener("error", () => resolve(-1));
      }),
  );
  assert.ok(duration > 0, `the shared video plays (${duration})`);
  assert.equal(await viewer.evaluate(() => localStorage.getItem("sora2.session")), null, "not signed in");
  await assertAccessible(viewer, "the shared page");
  await screenshot(viewer, "shared-video");

  await card.getByRole("button", { name: "Stop sharing" }).click();
  await card.getByRole("button", { name: "Create a share link" }).waitFor();
  await viewer.reload();
  await viewer.getByText(/This link has ended/).waitFor();
  assertClean(viewer, ["status of 404"]);
  assertClean(page);
});
