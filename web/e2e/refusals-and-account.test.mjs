// R44: refusals shown exactly (moderation, the kinds of personal data found, 402 with a
// way to buy), and the account page's flows: display name, email change with its code,
// restriction, a support message, and signing out everywhere.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, assertClean, codeIn, launch, signedInPage, signUpByApi, uniqueEmail, waitMail } from "./harness.mjs";

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

test("r44 refusals of a video are shown exactly and cost nothing", async () => {
  const token = await signUpByApi(uniqueEmail("refusals"));
  const page = await signedInPage(browser, token);
  await page.goto("/create");
  const prompt = page.getByLabel("Prompt");
  const create = page.getByRole("button", { name: /^Create video/ });
  await prompt.fill("A city skyline, write to jane.doe@example.com and call +44 20 7946 0958");
  await create.click();
  await page.getByRole("alert").filter({ hasText: "personal data (an email address, a phone number)" }).waitFor();
  await prompt.fill("A moderation-deny scene");
  await create.click();
  await page.getByRole("alert").filter({ hasText: "refused by our content rules" }).waitFor();
  // 8 seconds of the default model cost 2; two of them leave too little for a third.
  await page.getByLabel("Length").selectOption("8");
  for (let i = 0; i < 2; i++) {
    assert.equal((await api("/v1/videos", { method: "POST", token, body: { prompt: `sea ${i}`, seconds: 4 } })).status, 202);
  }
  await page.reload();
  await page.getByLabel("Prompt").fill("A quiet forest at dawn");
  await page.getByLabel("Length").selectOption("8");
  await page.getByText("You need 1 credit more.").waitFor();
  await page.getByRole("button", { name: /^Create video/ }).click();
  const refusal = page.getByRole("alert").filter({ hasText: "not have enough credits" });
  await refusal.waitFor();
  await refusal.getByRole("link", { name: "Buy credits" }).click();
  await page.waitForURL("**/credits");
  assert.equal((await api("/v1/billing", { token })).body.credits, 1, "the refusals charged nothing");
  assertClean(page, ["status of 422", "status of 402"]);
});

test("r44 account: display name, email change with its code, restriction, support, sign out everywhere", async () => {
  const email = uniqueEmail("account");
  const token = await signUpByApi(email);
  const other = await signUpByApi(email); // a second session of the same person
  const page = await signedInPage(browser, token);
  await page.goto("/account");
  await page.getByLabel("Display name").fill("Ada");
  await page.getByRole("button", { name: "Save display name" }).click();
  await page.getByText("Saved.").waitFor();
  assert.equal((await api("/v1/me", { token })).body.display_name, "Ada");

  const newEmail = uniqueEmail("moved");
  await page.getByLabel("New email address").fill(newEmail);
  await page.getByRole("button", { name: "Send a code to the new address" }).click();
  await page.getByLabel("Code sent to the new address").fill(codeIn(await waitMail(newEmail, "code")));
  await page.getByRole("button", { name: "Confirm new address" }).click();
  await page.getByText("Your email address is changed.").waitFor();
  assert.equal((await api("/v1/me", { token })).body.email, newEmail);

  await page.getByLabel("Subject").fill("A question about my videos");
  await page.getByLabel("Message").fill("How long do you keep them?");
  await page.getByRole("button", { name: "Send message" }).click();
  await page.getByText(/Sent\. We answer by email/).waitFor();

  await page.goto("/settings/privacy");
  await page.getByRole("button", { name: "Restrict processing" }).click();
  await page.getByRole("button", { name: "Lift the restriction" }).waitFor();
  assert.equal((await api("/v1/me", { token })).body.restricted, true);
  await page.getByRole("button", { name: "Lift the restriction" }).click();
  await page.getByRole("button", { name: "Restrict processing" }).waitFor();

  const fresh = await signUpByApi(newEmail);
  await page.goto("/account");
  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  await page.waitForURL((u) => u.pathname === "/");
  await page.getByRole("link", { name: "Sign in", exact: true }).waitFor();
  for (const t of [token, fresh]) assert.equal((await api("/v1/me", { token: t })).status, 401);
  assert.equal((await api("/v1/me", { token: other })).status, 401);
  assertClean(page);
});

test("r44 the account page says so when the account cannot be loaded, and loads it on Retry", async () => {
  const token = await signUpByApi(uniqueEmail("unloaded"));
  const page = await signedInPage(browser, token);
  // The API is unavailable for /v1/me alone, as a problem+json 503 would come.
  const unavailable = (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/problem+json",
      headers: { "retry-after": "1" },
      body: JSON.stringify({
        type: "https://www.sora2ai.info/problems/service_unavailable",
        title: "Service Unavailable",
        status: 503,
        detail: "a service this request depends on is unavailable; try again shortly",
        code: "service_unavailable",
      }),
    });
  await page.route("**/v1/me", unavailable);
  await page.goto("/account");
  const retry = page.getByRole("button", { name: "Retry" });
  await retry.waitFor();
  assert.equal(await page.getByText("Loading your account").count(), 0, "not loading forever");
  assert.equal(await page.getByLabel("Display name").count(), 0);
  // Back again: Retry loads the account.
  await page.unroute("**/v1/me", unavailable);
  await retry.click();
  await page.getByLabel("Display name").waitFor();
  await page.context().close();
});
