// R44, R06: a person signs up with an emailed code (refused without the age statement,
// then accepted with it), makes a text video, watches it become ready, plays it and
// downloads it — in a real browser, against the local stack.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { assertClean, codeIn, launch, open, uniqueEmail, waitMail } from "./harness.mjs";

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

test("r44_r06 sign up with a code and the age statement, make a text video, play and download it", async () => {
  const page = await open(browser);
  const email = uniqueEmail("signup");
  await page.goto("/");
  await page.getByRole("button", { name: "Reject all" }).click();
  await page.getByRole("link", { name: "Sign in to create a video" }).click();
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Email me a sign-in code" }).click();
  const code = codeIn(await waitMail(email, "code"));
  await page.getByLabel("Sign-in code").fill(code);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  // A new account without the statement is refused, and the refusal says why.
  await page.getByRole("alert").filter({ hasText: "aged 13 or over" }).waitFor();
  await page.getByLabel("I am 13 years old or older").check();
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL("**/create");

  await page.getByLabel("Prompt").fill("A red fox running through fresh snow at dawn, with the sound of wind");
  const cost = await page.locator(".cost").textContent();
  assert.match(cost, /costs 1 credit\. Your balance: 3 credits/);
  await page.getByRole("button", { name: /^Create video/ }).click();
  await page.waitForURL("**/videos?new=*");
  const card = page.locator(".card.video").first();
  await card.getByText("Ready", { exact: true }).waitFor({ timeout: 90_000 });
  await card.getByText("AI-generated").waitFor();
  await card.getByText(/Deleted automatically/).waitFor();

  // The player has the file (its metadata loads from the presigned link).
  const duration = await card.locator("video").evaluate(
    (v) =>
      new Promise((resolve) => {
        if (v.readyState >= 1) return resolve(v.duration);
        v.addEventListener("loadedmetadata", () => resolve(v.duration));
        v.addEventListener("error", () => resolve(-1));
      }),
  );
  assert.ok(duration > 0, `the video plays (duration ${duration})`);
  // The download link is the presigned URL that asks S3 for `Content-Disposition:
  // attachment` (which the local S3 endpoint ignores, so the browser's download event
  // cannot be awaited here): it names the file and answers the video itself.
  const link = card.getByRole("link", { name: "Download video" });
  assert.notEqual(await link.getAttribute("download"), null);
  const href = await link.getAttribute("href");
  assert.match(decodeURIComponent(href), /response-content-disposition=attachment; filename="vid_[0-9a-f]+\.mp4"/);
  const file = await page.request.get(href);
  assert.equal(file.status(), 200);
  assert.equal(file.headers()["content-type"], "video/mp4");
  assert.ok((await file.body()).length > 1000, "the download is the video");
  // The balance in the navigation went down by the cost.
  await page.locator(".badge").filter({ hasText: "2" }).waitFor();

  // Deleted: gone from the list, and its file with it (the old link answers no video).
  await card.getByRole("button", { name: "Delete video" }).click();
  await card.getByRole("button", { name: "Yes, delete it" }).click();
  await page.getByText("A red fox running through fresh snow").waitFor({ state: "detached" });
  const gone = await page.request.get(href);
  assert.notEqual(gone.status(), 200, "the file is gone");
  assertClean(page, ["status of 422"]);
});
