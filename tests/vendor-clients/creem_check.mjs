// Drives the local Creem emulator with Creem's own SDK (npm `creem`), so the emulator
// answers exactly as https://api.creem.io does (the SDK validates every answer).
//
//     node creem_check.mjs <Creem API base URL> <API key>
import { Creem } from "creem";

const [base, key] = process.argv.slice(2);
const creem = new Creem({ serverURL: base, apiKey: key });

const allow = await creem.moderation.screenPrompt({ prompt: "a calm lake", externalId: "vid_check" });
if (allow.decision !== "allow" || allow.externalId !== "vid_check" || allow.usage.units !== 1) {
  throw new Error(`unexpected answer ${JSON.stringify(allow)}`);
}
const noId = await creem.moderation.screenPrompt({ prompt: "a calm lake" });
if (noId.externalId !== undefined) throw new Error("external id invented");
const deny = await creem.moderation.screenPrompt({ prompt: "a scene moderation-deny" });
const flag = await creem.moderation.screenPrompt({ prompt: "a scene moderation-flag" });
if (deny.decision !== "deny" || flag.decision !== "flag") throw new Error("decisions");

const wrong = new Creem({ serverURL: base, apiKey: "not-the-key" });
let refused = false;
try {
  await wrong.moderation.screenPrompt({ prompt: "a calm lake" });
} catch {
  refused = true;
}
if (!refused) throw new Error("a wrong key was accepted");

// Checkouts: the SDK validates the answer against Creem's schema.
const checkout = await creem.checkouts.create({
  productId: "prod_pack_10",
  requestId: "chk_vendor_check",
  units: 1,
  successUrl: "https://www.sora2ai.info/billing/success",
  metadata: { account_id: "acc_vendor_check" },
});
if (checkout.object !== "checkout" || checkout.status !== "pending" || !checkout.checkoutUrl) {
  throw new Error(`unexpected checkout ${JSON.stringify(checkout)}`);
}
if (checkout.requestId !== "chk_vendor_check" || checkout.metadata?.account_id !== "acc_vendor_check") {
  throw new Error(`request id or metadata lost ${JSON.stringify(checkout)}`);
}

console.log("creem SDK: moderation.screenPrompt (allow, deny, flag, wrong key), checkouts.create: ok");
