// R47: a plan in the person's hands: bought on the payment page, cancelled at the end
// of its period behind a confirmation that says what stays, resumed, its payments
// listed, and Creem's portal opened; a cancellation made at the portal shows here.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, assertAccessible, assertClean, launch, screenshot, signedInPage, signUpByApi, uniqueEmail } from "./harness.mjs";

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

test("r47 buy a plan, cancel it at the period's end, resume it, and cancel it at Creem's portal", async () => {
  const token = await signUpByApi(uniqueEmail("plan"));
  const page = await signedInPage(browser, token);
  await page.goto("/credits");
  await page.getByRole("button", { name: "Buy Monthly plan" }).click();
  await page.waitForURL("**/_local/creem/checkout/*");
  await page.getByRole("button", { name: /^Pay/ }).click();
  await page.waitForURL("**/billing/success?*");
  await page.getByText(/Payment received/).waitFor();
  await page.getByRole("link", { name: "Back to credits" }).click();

  const plan = page.getByRole("region", { name: "Your plan" });
  await plan.getByText(/renews on/).waitFor();
  await page.getByRole("cell", { name: "Paid" }).waitFor();
  await assertAccessible(page, "the credits page with a plan");
  await screenshot(page, "credits-plan");

  // Cancel: the confirmation says when it ends and what stays.
  await plan.getByRole("button", { name: "Cancel plan" }).click();
  const question = plan.getByRole("group");
  await question.getByText(/is not charged again/).waitFor();
  await question.getByText(/credits you have keep working/).waitFor();
  await screenshot(page, "credits-plan-cancel");
  await plan.getByRole("button", { name: "Keep my plan" }).click();
  assert.equal((await api("/v1/billing", { token })).body.plan.renews, true, "kept");
  await plan.getByRole("button", { name: "Cancel plan" }).click();
  await plan.getByRole("button", { name: "Yes, cancel at the end of the period" }).click();
  await plan.getByText(/ends on .* nothing more is charged/).waitFor();
  const cancelled = (await api("/v1/billing", { token })).body;
  assert.equal(cancelled.plan.renews, false);
  assert.equal(cancelled.plan.cancel_at, cancelled.plan.period_end);
  assert.equal(cancelled.credits, 43, "the period's credits stay");

  await plan.getByRole("button", { name: "Resume plan" }).click();
  await plan.getByText(/renews on/).waitFor();
  assert.equal((await api("/v1/billing", { token })).body.plan.renews, true);

  // Creem's portal: cancel there, and this page shows it.
  await plan.getByRole("button", { name: "Manage billing and receipts" }).click();
  await page.waitForURL("**/_local/creem/portal/*");
  await page.getByRole("heading", { name: "Your subscriptions" }).waitFor();
  await screenshot(page, "creem-portal");
  await page.getByRole("button", { name: "Cancel subscription" }).click();
  await page.getByText("scheduled_cancel").waitFor();
  await page.goto("/credits");
  await page.getByRole("region", { name: "Your plan" }).getByText(/ends on/).waitFor();
  // The local portal page (the emulator's, not ours) has no icon: the browser's 404.
  assertClean(page, ["status of 404"]);
});
