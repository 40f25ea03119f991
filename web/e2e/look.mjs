// Screenshots of one path, desktop and phone, for looking at a page by hand:
// node e2e/look.mjs /credits [token]
import { launch, open, signedInPage, PHONE, DESKTOP, screenshot } from "./harness.mjs";
const [path = "/", token] = process.argv.slice(2);
const browser = await launch();
for (const [name, opts] of [["desktop", DESKTOP], ["phone", PHONE]]) {
  const page = token ? await signedInPage(browser, token, opts) : await open(browser, opts);
  await page.goto(path);
  await page.waitForTimeout(800);
  await screenshot(page, `look-${name}`);
  console.log(name, page.problems);
}
await browser.close();
