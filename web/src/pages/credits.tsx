// Credits: the balance, the plan, the ledger (paged), and buying. Buying goes to
// Creem's checkout page and comes back to /billing/success, which grants nothing by
// itself: the credits arrive with Creem's signed webhook, and the page waits for them.
import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import type { components } from "../api/schema";
import { refreshMe } from "../account";
import { credits, date, dateTime, money } from "../format";
import { ProductCard } from "../product";
import { useLocation } from "../router";
import { Alert, ErrorText, LoadError, Loading, Page, useAction, useLoad } from "../ui";

type Entry = components["schemas"]["LedgerEntry"];
type Plan = components["schemas"]["Plan"];

const KIND_TEXT: Record<components["schemas"]["LedgerEntryKind"], string> = {
  grant: "Plan credits",
  purchase: "Purchase",
  debit: "Video",
  refund: "Refund",
  clawback: "Payment reversed",
};

/** The plan (R47): renews on…, or ends on… with Resume; Cancel behind a confirmation
 * that says what stays and when it ends; Creem's portal for payment method and receipts. */
function PlanPanel(props: { plan: Plan | null | undefined; onChange: (plan: Plan) => void }) {
  const p = props.plan;
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  // The plan's name as the catalogue gives it (its id when the catalogue is not loaded).
  const products = useLoad(() => ok(api().GET("/v1/billing/products")), []);
  if (!p) return <p>You have no plan. Credit packs never expire while your account exists.</p>;
  const ends = p.cancel_at ?? p.period_end;
  const cancel = () =>
    action.run(async () => {
      const r = await ok(api().POST("/v1/billing/plan/cancel"));
      setConfirming(false);
      props.onChange(r.plan);
    });
  const resume = () =>
    action.run(async () => {
      const r = await ok(api().POST("/v1/billing/plan/resume"));
      props.onChange(r.plan);
    });
  const ended = p.status === "canceled" || p.status === "expired";
  return (
    <section class="card stack" aria-labelledby="plan-title">
      <h2 id="plan-title">Your plan</h2>
      <p>
        <strong>{products.data?.items.find((x) => x.id === p.product_id)?.name ?? p.product_id}</strong>
        {ended
          ? ": ended."
          : p.renews
            ? p.period_end
              ? `: renews on ${date(p.period_end)}.`
              : ": active."
            : ends
              ? `: ends on ${date(ends)}. It will not renew, and nothing more is charged.`
              : ": it will not renew."}
        {p.status === "past_due" && " Creem could not take the last payment; update your payment method."}
      </p>
      <ErrorText error={action.error} />
      {!ended && p.renews && !confirming && (
        <button type="button" class="secondary" onClick={() => setConfirming(true)}>
          Cancel plan
        </button>
      )}
      {confirming && (
        <div class="confirm" role="group" aria-labelledby="cancel-question">
          <p id="cancel-question">
            Cancel your plan? It ends on {ends ? date(ends) : "the end of the paid period"} and is not charged again.
            The credits you have keep working until you use them.
          </p>
          <button type="button" class="danger" onClick={cancel} disabled={action.busy}>
            {action.busy ? "Cancelling…" : "Yes, cancel at the end of the period"}
          </button>
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>
            Keep my plan
          </button>
        </div>
      )}
      {!ended && !p.renews && (
        <button type="button" onClick={resume} disabled={action.busy}>
          {action.busy ? "Resuming…" : "Resume plan"}
        </button>
      )}
      <Portal />
    </section>
  );
}

/** Opens Creem's customer portal: payment method, invoices and receipts. */
function Portal() {
  const action = useAction();
  const open = () =>
    action.run(async () => {
      const r = await ok(api().POST("/v1/billing/portal"));
      location.assign(r.url);
    });
  return (
    <>
      <ErrorText error={action.error} />
      <button type="button" class="secondary" onClick={open} disabled={action.busy}>
        Manage billing and receipts
      </button>
    </>
  );
}

const PAYMENT_STATUS: Record<string, string> = {
  paid: "Paid",
  refunded: "Refunded",
  partially_refunded: "Partly refunded",
  disputed: "Disputed",
};

/** The payments (R47), newest first, from our records of Creem's events. */
function Payments() {
  const list = useLoad(() => ok(api().GET("/v1/billing/payments")), []);
  return (
    <>
      <h2>Payments</h2>
      {list.loading && !list.data && <Loading what="your payments" />}
      <LoadError error={list.error} what="Your payments" retry={list.reload} />
      {list.data && list.data.items.length === 0 && <p>No payments yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <table class="ledger">
          <caption class="visually-hidden">Payments, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">What</th>
              <th scope="col" class="num">Amount</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((p) => (
              <tr key={p.id}>
                <td>{dateTime(p.created_at)}</td>
                <td>{p.product_id}</td>
                <td class="num">{money(p.amount_cents, p.currency)}</td>
                <td>{PAYMENT_STATUS[p.status] ?? p.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Buy() {
  const products = useLoad(() => ok(api().GET("/v1/billing/products")), []);
  const action = useAction();
  const buy = (product_id: string) =>
    action.run(async () => {
      const started = await ok(api().POST("/v1/billing/checkout", { body: { product_id } }));
      location.assign(started.checkout_url);
    });
  return (
    <>
      <h2>Buy credits</h2>
      {products.loading && <Loading what="products" />}
      <LoadError error={products.error} what="The products" retry={products.reload} />
      <ErrorText error={action.error} />
      <ul class="cards">
        {products.data?.items.map((p) => (
          <ProductCard key={p.id} product={p} id={`buy-${p.id}`}>
            <button type="button" onClick={() => buy(p.id)} disabled={action.busy}>
              Buy {p.name}
            </button>
          </ProductCard>
        ))}
      </ul>
      <p class="muted">Payments are handled by Creem, our merchant of record. We never see your card.</p>
    </>
  );
}

export function Credits() {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [overview, setOverview] = useState<components["schemas"]["Overview"] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const page = useAction();
  const load = (after: string | null) =>
    page.run(async () => {
      const o = await ok(api().GET("/v1/billing", { params: { query: after ? { cursor: after } : {} } }));
      if (!after) setOverview(o);
      setEntries((prev) => [...(after ? prev : []), ...o.ledger]);
      setCursor(o.next_cursor ?? null);
    });
  useEffect(() => {
    load(null);
  }, []);
  return (
    <Page title="Credits">
      {overview ? (
        <ErrorText error={page.error} />
      ) : (
        <LoadError error={page.error} what="Your balance" retry={() => load(null)} />
      )}
      {overview ? (
        <>
          <p class="balance">
            Balance: <strong>{credits(overview.credits)}</strong>
          </p>
          <PlanPanel plan={overview.plan} onChange={(plan) => setOverview({ ...overview, plan })} />
        </>
      ) : (
        !page.error && <Loading what="your balance" />
      )}
      <Buy />
      {overview && <Payments />}
      <h2>History</h2>
      {entries.length === 0 && overview && <p>Nothing yet.</p>}
      {entries.length > 0 && (
        <table class="ledger">
          <caption class="visually-hidden">Credit history, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">What</th>
              <th scope="col" class="num">Credits</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td>{dateTime(e.created_at)}</td>
                <td>{KIND_TEXT[e.kind] ?? e.kind}</td>
                <td class="num">{e.amount > 0 ? `+${e.amount}` : e.amount}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" class="secondary" onClick={() => load(cursor)} disabled={page.busy}>
          Show older entries
        </button>
      )}
    </Page>
  );
}

const WAIT_MS = 60_000;

/** Where Creem's checkout comes back to: waits for the webhook's credits to show. */
export function CheckoutResult() {
  const q = useLocation().query;
  const canceled = q.get("status") === "canceled";
  const [state, setState] = useState<{ credits: number; added?: Entry; gaveUp?: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Bumped by "Try again": the wait starts over.
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (canceled) return;
    const since = Date.now() - 10 * 60_000;
    const started = Date.now();
    let live = true;
    const look = async () => {
      try {
        const o = await ok(api().GET("/v1/billing"));
        const added = o.ledger.find(
          (e) => (e.kind === "purchase" || e.kind === "grant") && new Date(e.created_at).getTime() >= since,
        );
        if (!live) return;
        setState({ credits: o.credits, added, gaveUp: !added && Date.now() - started > WAIT_MS });
        if (added) refreshMe();
        else if (Date.now() - started <= WAIT_MS) window.setTimeout(look, 2000);
      } catch (e) {
        setError(e);
      }
    };
    look();
    return () => {
      live = false;
    };
  }, [canceled, attempt]);
  return (
    <Page title={canceled ? "Payment canceled" : "Thank you"}>
      {canceled ? (
        <Alert kind="info">Nothing was charged. You can buy whenever you like.</Alert>
      ) : (
        <>
          <LoadError
            error={error}
            what="Your payment"
            retry={() => {
              setError(null);
              setAttempt((n) => n + 1);
            }}
          />
          {!state && !error && <Loading what="your payment" />}
          {state?.added && (
            <Alert kind="success">
              Payment received: {credits(state.added.amount)} added. Your balance is now {credits(state.credits)}.
            </Alert>
          )}
          {state && !state.added && !state.gaveUp && (
            <p role="status">Payment received. Waiting for Creem to confirm it… (usually a few seconds)</p>
          )}
          {state?.gaveUp && (
            <Alert kind="info">
              Creem has not confirmed the payment yet. Your credits appear as soon as it does; no need to pay again.
            </Alert>
          )}
        </>
      )}
      <p>
        <a href="/credits">Back to credits</a> · <a href="/create">Create a video</a>
      </p>
    </Page>
  );
}
