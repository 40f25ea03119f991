// Drives a plan's changes at the local Creem emulator with Creem's own SDK (npm
// `creem`): a cancellation at the period's end, its resumption, and the customer's
// billing-portal link. The SDK validates each answer against Creem's schema.
//
//     node creem_plan_check.mjs <Creem API base URL> <API key> <subscription id> <customer id>
import { Creem } from "creem";

const [base, key, sub, customer] = process.argv.slice(2);
const creem = new Creem({ serverURL: base, apiKey: key });

const scheduled = await creem.subscriptions.cancel(sub, { mode: "scheduled" });
if (scheduled.status !== "scheduled_cancel" || !scheduled.currentPeriodEndDate) {
  throw new Error(`unexpected cancellation ${JSON.stringify(scheduled)}`);
}
const resumed = await creem.subscriptions.resume(sub);
if (resumed.status !== "active") throw new Error(`unexpected resumption ${JSON.stringify(resumed)}`);
let refused = false;
try {
  await creem.subscriptions.resume(sub);
} catch {
  refused = true;
}
if (!refused) throw new Error("an active subscription was resumed");
const links = await creem.customers.generateBillingLinks({ customerId: customer });
if (!links.customerPortalLink?.includes(customer)) throw new Error(`unexpected links ${JSON.stringify(links)}`);

console.log("creem SDK: subscriptions.cancel (scheduled), subscriptions.resume, customers.generateBillingLinks: ok");
