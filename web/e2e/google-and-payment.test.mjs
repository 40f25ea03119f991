// R44: "Sign in with Google" through the local account chooser (Google's implicit flow,
// the token handed back in the fragment), with the age statement for a new account;
// and buying a credit pack on Creem's local payment page, back to the result page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  api,
  assertClean,
  codeIn,
  launch,
  mails,
  open,
  signedInPage,
  signUpByApi,
  uniqueEmail,
  waitMail,
} from "./harness.mjs";

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

test("r44_r06 sign in with Google through the emulator's account chooser", async () => {
  const page = await open(browser);
  const email = uniqueEmail("google");
  await page.goto("/signin");
  await page.getByRole("button", { name: "Reject all" }).click();
  await page.getByRole("button", { name: "Sign in with Google" }).click();
  await page.waitForURL("**/_local/google/chooser?*");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Name").fill("Grace Hopper");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL("**/signin/google");
  assert.equal(new URL(page.url()).hash, "", "the token leaves the address bar");
  // New account: the age statement first.
  await page.getByRole("alert").filter({ hasText: "aged 13 or over" }).waitFor();
  await page.getByLabel("I am 13 years old or older").check();
  await page.getByRole("button", { name: "Create my account" }).click();
  await page.waitForURL("**/create");
  await page.goto("/account");
  await page.getByText(email).waitFor();
  await page.getByText(/Google sign-in is connected/).waitFor();
  // Disconnected, the account still signs in with an emailed code.
  await page.getByRole("button", { name: "Disconnect Google" }).click();
  await page.getByText(/Google sign-in is not connected/).waitFor();
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.goto("/signin");
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Email me a sign-in code" }).click();
  const mail = await waitMail(email, "code");
  await page.getByLabel("Sign-in code").fill(codeIn(mail));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/signin"));
  await page.goto("/account");
  await page.getByText(email).waitFor();
  // The signed-out session's last look at the API is refused, as it should be.
  assertClean(page, ["status of 422", "status of 401"]);
});

// R03: a Google account that claims the address of an existing account, where Google
// does not vouch for the address (not Gmail, no Workspace domain), is linked only once
// the emailed code proves the address.
test("r44_r03 Google asks for the emailed code before linking an existing account", async () => {
  const email = uniqueEmail("google-link");
  await signUpByApi(email);
  const before = (await mails(email)).length;
  const page = await open(browser);
  await page.goto("/signin");
  await page.getByRole("button", { name: "Reject all" }).click();
  await page.getByRole("button", { name: "Sign in with Google" }).click();
  await page.waitForURL("**/_local/google/chooser?*");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Name").fill("Ada Lovelace");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL("**/signin/google");
  await page.getByText("This email address already has a Sora2 AI account").waitFor();
  const code = codeIn(await waitMail(email, "code", before));
  await page.getByLabel("Code from the email").fill(code === "000000" ? "111111" : "000000");
  await page.getByRole("button", { name: "Connect Google and sign in" }).click();
  await page.getByText("That code is wrong or has expired").waitFor();
  await page.getByLabel("Code from the email").fill(code);
  await page.getByRole("button", { name: "Connect Google and sign in" }).click();
  await page.waitForURL("**/create");
  await page.goto("/account");
  await page.getByText(email).waitFor();
  await page.getByText(/Google sign-in is connected/).waitFor();
  assertClean(page, ["status of 409", "status of 400"]);
});

test("r44 buy a credit pack on the local payment page and see the balance", async () => {
  const token = await signUpByApi(uniqueEmail("buyer"));
  const page = await signedInPage(browser, token);
  await page.goto("/credits");
  await page.getByText("Balance: 3 credits").waitFor();
  await page.getByRole("button", { name: "Buy 10 credits" }).click();
  await page.waitForURL("**/_local/creem/checkout/*");
  await page.getByRole("button", { name: /^Pay/ }).click();
  await page.waitForURL("**/billing/success?*");
  await page.getByText("Payment received: 10 credits added. Your balance is now 13 credits.").waitFor();
  await page.getByRole("link", { name: "Back to credits" }).click();
  await page.getByText("Balance: 13 credits").waitFor();
  await page.getByRole("cell", { name: "Purchase" }).waitFor();
  assert.equal((await api("/v1/billing", { token })).body.credits, 13);

  // Cancel on the payment page charges nothing.
  await page.getByRole("button", { name: "Buy 10 credits" }).click();
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByText("Nothing was charged.").waitFor();
  assert.equal((await api("/v1/billing", { token })).body.credits, 13);
  assertClean(page);
});
