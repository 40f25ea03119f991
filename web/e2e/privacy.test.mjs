// R44 with R23, R24, R28–R30: the cookie banner's choices reach the account's consent
// history with the policy version; a data export is requested with its code and
// downloaded; the unsubscribe link of a real marketing mail works from its page; an
// account is deleted with its code, and its old session is refused.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  api,
  assertClean,
  codeIn,
  consentHistory,
  dynamoUpdate,
  launch,
  signedInPage,
  signUpByApi,
  uniqueEmail,
  waitFor,
  waitMail,
} from "./harness.mjs";

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

test("r44_r23 cookie banner: off until chosen, reject as easy as accept, recorded with the policy version", async () => {
  const token = await signUpByApi(uniqueEmail("cookies"));
  const me = (await api("/v1/me", { token })).body;
  const page = await signedInPage(browser, token, undefined, { cookieChoice: false });
  await page.goto("/");
  const banner = page.getByRole("region", { name: "Cookies" });
  await banner.waitFor();
  assert.equal(me.consents.analytics, false);
  assert.equal(me.consents.marketing_cookies, false);
  await banner.getByRole("button", { name: "Reject all" }).click();
  await banner.waitFor({ state: "detached" });
  let history = await waitFor(async () => {
    const h = await consentHistory(me.id);
    return h.length > 0 && h;
  }, "the banner's choice in the consent history");
  assert.deepEqual(
    [history.at(-1).analytics, history.at(-1).marketing_cookies, history.at(-1).policy_version],
    [false, false, me.policy_version_current],
  );
  // Changed later on the settings page: analytics only.
  await page.getByRole("link", { name: "Cookie settings" }).click();
  await page.getByLabel("Analytics cookies").check();
  await page.getByRole("button", { name: "Save choices" }).click();
  await page.getByText("Saved to your account.").waitFor();
  const recorded = history.length;
  history = await consentHistory(me.id);
  // One entry more. The history orders by its second (`at`): both choices can fall in
  // the same one, so the new entry is found by what it says, not by its place.
  assert.equal(history.length, recorded + 1);
  assert.ok(
    history.some((h) => h.analytics === true && h.marketing_cookies === false && h.policy_version === me.policy_version_current),
    JSON.stringify(history),
  );
  const after = (await api("/v1/me", { token })).body.consents;
  assert.deepEqual([after.analytics, after.marketing_cookies, after.marketing_email], [true, false, false]);
  assertClean(page);
});

test("r44_r24 the unsubscribe link of a real marketing mail works from its page", async () => {
  const email = uniqueEmail("news");
  const token = await signUpByApi(email);
  const page = await signedInPage(browser, token);
  await page.goto("/settings/privacy");
  await page.getByLabel("News and offers by email").check();
  await page.getByRole("button", { name: "Save my choices" }).click();
  await page.getByText("Your choices are saved.").waitFor();
  const mail = await waitMail(email, "subscribed");
  const link = /Unsubscribe: (\S+)/.exec(mail.text)[1];
  assert.match(link, /\/unsubscribe\?token=/);
  // Opened in a fresh browser with no session, as from a mail client.
  const fresh = await (await browser.newContext()).newPage();
  await fresh.goto(link);
  await fresh.getByRole("button", { name: "Unsubscribe" }).click();
  await fresh.getByText("You are unsubscribed.").waitFor();
  assert.equal((await api("/v1/me", { token })).body.consents.marketing_email, false);
  await fresh.context().close();
  assertClean(page);
});

test("r44_r28 export requested with its code and downloaded when ready", async () => {
  const email = uniqueEmail("export");
  const token = await signUpByApi(email);
  const page = await signedInPage(browser, token);
  await page.goto("/settings/privacy");
  await page.getByRole("button", { name: "Email me a confirmation code" }).click();
  await page.getByText("A confirmation code is on its way").waitFor();
  await page.getByLabel("Confirmation code").fill(codeIn(await waitMail(email, "confirmation code")));
  await page.getByRole("button", { name: "Request a copy of my data" }).click();
  await page.getByText(/Export requested/).waitFor();
  const row = page.getByRole("row").filter({ hasText: "Copy of my data" });
  await row.getByText("Done").waitFor({ timeout: 60_000 });
  const control = row.getByRole("link", { name: "Download my data" }).or(row.getByRole("button", { name: "Get download link" }));
  if (await row.getByRole("button", { name: "Get download link" }).count()) {
    await row.getByRole("button", { name: "Get download link" }).click();
  }
  await control.first().waitFor();
  const href = await row.getByRole("link", { name: "Download my data" }).getAttribute("href");
  const file = await page.request.get(href);
  assert.equal(file.status(), 200);
  assert.ok((await file.body()).length > 0);
  assertClean(page);
});

test("r44_r29 account deleted with its code; the old session is refused", async () => {
  const email = uniqueEmail("erase");
  const token = await signUpByApi(email);
  const page = await signedInPage(browser, token);
  await page.goto("/settings/privacy");
  await page.getByRole("button", { name: "Email me a confirmation code" }).click();
  await page.getByLabel("Confirmation code").fill(codeIn(await waitMail(email, "confirmation code")));
  const erase = page.getByRole("button", { name: "Delete my account" });
  assert.equal(await erase.isDisabled(), true, "not without the confirmation");
  await page.getByLabel("I understand that this cannot be undone").check();
  await erase.click();
  await page.waitForURL("**/?deleted=1");
  await page.getByText("Your account is being deleted").waitFor();
  assert.equal((await api("/v1/me", { token })).status, 401);
  assert.equal(await page.evaluate(() => localStorage.getItem("sora2.session")), null);
  assertClean(page);
});

test("r44_r34 a changed policy is announced, can be read, and is accepted in one click", async () => {
  const token = await signUpByApi(uniqueEmail("policy"));
  const me = (await api("/v1/me", { token })).body;
  await dynamoUpdate("AccountsTable", { pk: { S: `account#${me.id}` } }, "SET policy_version_accepted = :v", {
    ":v": { S: "2024-01-01" },
  });
  const page = await signedInPage(browser, token);
  await page.goto("/videos");
  const notice = page.getByRole("complementary", { name: "Our privacy policy has changed" });
  await notice.getByText(`replaces the one you accepted on 2024-01-01`).waitFor();
  await notice.getByRole("link", { name: "Read what changed" }).click();
  await page.waitForURL("**/privacy");
  await page.getByRole("button", { name: "I have read it" }).click();
  await notice.waitFor({ state: "detached" });
  const after = (await api("/v1/me", { token })).body;
  assert.equal(after.policy_update_available, false);
  assert.equal(after.policy_version_accepted, me.policy_version_current);
  assertClean(page);
});
