// R44: image-to-video from a file picked on disk: previewed, PUT straight to the inputs
// bucket with the presigned URL (a cross-origin request the bucket's CORS allows), and
// made into a video.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertClean, launch, png, signedInPage, signUpByApi, uniqueEmail } from "./harness.mjs";

// A landscape: no face, nothing the image check refuses.
const PNG = png();

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

test("r44 image-to-video with an image uploaded from disk by its presigned URL", async () => {
  const token = await signUpByApi(uniqueEmail("image"));
  const file = join(mkdtempSync(join(tmpdir(), "sora2-web-")), "start-frame.png");
  writeFileSync(file, PNG);
  const page = await signedInPage(browser, token);
  await page.goto("/create");
  await page.getByLabel("Text and an image").check();
  await page.getByLabel(/^Image/).setInputFiles(file);
  await page.getByRole("img", { name: "Preview of the chosen image" }).waitFor();
  await page.getByLabel("Prompt").fill("The scene slowly comes alive, leaves rustling in the wind");
  const uploaded = page.waitForResponse((r) => r.request().method() === "PUT" && r.url().includes("inputs"));
  await page.getByRole("button", { name: /^Create video/ }).click();
  assert.equal((await uploaded).status(), 200, "the browser's PUT to the bucket");
  await page.waitForURL("**/videos?new=*");
  const card = page.locator(".card.video").first();
  await card.getByText("Ready", { exact: true }).waitFor({ timeout: 90_000 });
  const videos = await (
    await fetch(`${process.env.SORA_BASE_URL ?? "http://127.0.0.1:3000"}/v1/videos`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).json();
  assert.equal(videos.items[0].mode, "image");
  assertClean(page);
});
