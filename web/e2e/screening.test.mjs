// R45, R46: an image is checked before anything is charged. A face needs the person's
// statement, a refused image shows its rule and a way to appeal, and the appeal is
// listed with its outcome once an operator decides.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, assertAccessible, assertClean, launch, png, screenshot, signedInPage, signUpByApi, uniqueEmail } from "./harness.mjs";

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

function file(name, screening) {
  const path = join(mkdtempSync(join(tmpdir(), "sora2-web-")), name);
  writeFileSync(path, png(screening));
  return path;
}

test("r45 r46 a face needs the statement; a refused image names its rule and is appealed", async () => {
  const token = await signUpByApi(uniqueEmail("screening"));
  const page = await signedInPage(browser, token);
  await page.goto("/create");
  await page.getByLabel("Text and an image").check();
  await page.getByLabel("Prompt").fill("The two of us waving on the beach");
  await page.getByLabel(/^Image/).setInputFiles(file("friends.png", "faces=34,36"));
  const statement = page.getByLabel("Everyone shown in this image agrees to appear in a video, or is me");
  await statement.waitFor();
  await page.getByRole("button", { name: /^Create video/ }).click();
  await page.getByRole("alert").filter({ hasText: "Confirm that everyone shown agrees" }).waitFor();
  await statement.check();
  await page.getByRole("button", { name: /^Create video/ }).click();
  await page.waitForURL("**/videos?new=*");

  // A refused image: its rule, nothing charged, and the way to appeal.
  const credits = (await api("/v1/billing", { token })).body.credits;
  await page.goto("/create");
  await page.getByLabel("Text and an image").check();
  await page.getByLabel("Prompt").fill("A battle scene comes alive");
  await page.getByLabel(/^Image/).setInputFiles(file("battle.png", "labels=Graphic Violence"));
  await page.getByRole("button", { name: /^Create video/ }).click();
  const refusal = page.getByRole("alert").filter({ hasText: "refused by our content rules" });
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /Reason: violence\./);
  await assertAccessible(page, "a refused image");
  await screenshot(page, "create-image-refused");
  assert.equal((await api("/v1/billing", { token })).body.credits, credits, "nothing charged");
  await refusal.getByRole("link", { name: "Appeal this decision" }).click();
  await page.waitForURL("**/appeals?refusal=ref_*");
  await page.getByLabel("Why the decision is wrong").fill("It is a painting in a museum, not real violence.");
  await page.getByRole("button", { name: "Send appeal" }).click();
  await page.getByText("Your appeal was sent.").waitFor();
  await page.getByText("Waiting for an answer").waitFor();
  await assertAccessible(page, "the appeals page");
  await screenshot(page, "appeals");
  const mine = await api("/v1/appeals", { token });
  assert.equal(mine.body.items.length, 1);
  assert.equal(mine.body.items[0].status, "open");
  assertClean(page, ["status of 422"]);
});
