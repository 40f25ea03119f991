// Checks the events the local Creem emulator sent with Creem's own SDK (npm `creem`):
// each one's `creem-signature` verifies with the webhook secret, and its body parses
// as the SDK's webhook event entity (the SDK validates it against Creem's schema).
//
//     node creem_webhooks_check.mjs <events.json> <webhook secret>
//
// `events.json` is a list of `{body, signature}`: the raw body as sent, its signature.
import { readFileSync } from "node:fs";
import { constructWebhookEventEntity } from "creem/webhooks";

const [file, secret] = process.argv.slice(2);
const events = JSON.parse(readFileSync(file, "utf8"));
const seen = new Set();
for (const { body, signature } of events) {
  const entity = await constructWebhookEventEntity(body, { "creem-signature": signature }, secret);
  const type = entity.eventType ?? JSON.parse(body).eventType;
  seen.add(type);
}
let altered = false;
try {
  await constructWebhookEventEntity(events[0].body + " ", { "creem-signature": events[0].signature }, secret);
} catch {
  altered = true;
}
if (!altered) throw new Error("an altered body verified");
console.log(`creem SDK: ${events.length} emulator events verified and parsed (${[...seen].sort().join(", ")}): ok`);
