// The library: filtered by status and model (kept in the address), and a video made
// again from its card, the create form filled in from it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, assertAccessible, assertClean, launch, screenshot, signedInPage, signUpByApi, uniqueEmail, waitFor } from "./harness.mjs";

let browser;
before(async () => (browser = await launch()));
after(() => browser?.close());

test("the library filters by status and model, and a video is made again from its card", async () => {
  const token = await signUpByApi(uniqueEmail("library"));
  // The two cheapest, so the three videos fit the sign-up's credits.
  const cheapest = (m) => m.cost[String(m.seconds[0])];
  const models = (await api("/v1/models")).body.items
    .filter((m) => m.modes.includes("text"))
    .sort((a, b) => cheapest(a) - cheapest(b));
  assert.ok(models.length >= 2, "two models make videos from text");
  const [first, second] = models;
  const made = [];
  for (const [model, prompt] of [
    [first, "A red kite over the dunes"],
    [second, "A paper boat on a rainy street"],
  ]) {
    const r = await api("/v1/videos", {
      method: "POST",
      token,
      body: { prompt, model: model.id, seconds: model.seconds[0], aspect_ratio: model.aspect_ratios.at(-1) },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    made.push(r.body.id);
  }
  for (const id of made) {
    await waitFor(async () => (await api(`/v1/videos/${id}`, { token })).body.status === "ready", "a ready video");
  }

  const page = await signedInPage(browser, token);
  await page.goto("/videos");
  const cards = page.locator(".card.video");
  await cards.nth(1).waitFor();
  assert.equal(await cards.count(), 2);

  await page.getByLabel("Model").selectOption(second.id);
  await page.waitForURL((url) => url.searchParams.get("model") === second.id);
  await waitFor(async () => (await cards.count()) === 1, "only the second model's video");
  await cards.first().getByText("A paper boat on a rainy street").waitFor();
  await screenshot(page, "videos-filtered");

  await page.getByLabel("Status").selectOption("failed");
  await page.getByText("No videos match these filters.").waitFor();
  assert.equal(await cards.count(), 0);
  // The filters are in the address: a reload keeps them.
  await page.reload();
  await page.getByText("No videos match these filters.").waitFor();
  assert.equal(await page.getByLabel("Status").inputValue(), "failed");
  await page.getByRole("link", { name: "Show all videos" }).click();
  await waitFor(async () => (await cards.count()) === 2, "every video again");
  await assertAccessible(page, "the filtered library");

  // Made again: the form opens filled in from the video; a change, then a new video.
  const kite = cards.filter({ hasText: "A red kite over the dunes" });
  await kite.getByRole("link", { name: "Make again" }).click();
  await page.getByRole("heading", { name: "Make a video again" }).waitFor();
  await page.getByText(/Filled in from your video of/).waitFor();
  assert.equal(await page.getByLabel("Prompt").inputValue(), "A red kite over the dunes");
  assert.equal(await page.getByLabel("Model").inputValue(), first.id);
  assert.equal(await page.getByLabel("Length").inputValue(), String(first.seconds[0]));
  assert.equal(await page.getByLabel("Aspect ratio").inputValue(), first.aspect_ratios.at(-1));
  await assertAccessible(page, "the create form made again");
  await screenshot(page, "create-make-again");
  await page.getByLabel("Prompt").fill("A red kite over the dunes, at sunset");
  await page.getByRole("button", { name: /^Create video/ }).click();
  await page.waitForURL("**/videos?new=*");
  const id = new URL(page.url()).searchParams.get("new");
  const again = (await api(`/v1/videos/${id}`, { token })).body;
  assert.equal(again.prompt, "A red kite over the dunes, at sunset");
  assert.equal(again.model, first.id);
  assert.equal(again.aspect_ratio, first.aspect_ratios.at(-1));
  assertClean(page);
});
