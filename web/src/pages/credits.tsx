// Credits: the balance, the plan, the ledger (paged), and buying. Buying goes to
// Creem's checkout page and comes back to /billing/success, which grants nothing by
// itself: the credits arrive with Creem's signed webhook, and the page waits for them.
import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import type { components } from "../api/schema";
import { refreshMe } from "../account";
import { credits, date, dateTime } from "../format";
import { ProductCard } from "../product";
import { useLocation } from "../router";
import { Alert, ErrorText, Loading, Page, useAction, useLoad } from "../ui";

type Entry = components["schemas"]["LedgerEntry"];
type Plan = components["schemas"]["Plan"];

const KIND_TEXT: Record<components["schemas"]["LedgerEntryKind"], string> = {
  grant: "Plan credits",
  purchase: "Purchase",
  debit: "Video",
  refund: "Refund",
  clawback: "Payment reversed",
};

function PlanText(props: { plan: Plan | null | undefined }) {
  const p = props.plan;
  if (!p) return <p>You have no plan. Credit packs never expire while your account exists.</p>;
  return (
    <p>
      Plan <strong>{p.product_id}</strong>: {p.status}.{" "}
      {p.period_end ? (p.renews ? `Renews on ${date(p.period_end)}.` : `Ends on ${date(p.period_end)}; it will not renew.`) : ""}
    </p>
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
      <ErrorText error={products.error ?? action.error} />
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
      <ErrorText error={page.error} />
      {overview ? (
        <>
          <p class="balance">
            Balance: <strong>{credits(overview.credits)}</strong>
          </p>
          <PlanText plan={overview.plan} />
        </>
      ) : (
        !page.error && <Loading what="your balance" />
      )}
      <Buy />
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
  }, [canceled]);
  return (
    <Page title={canceled ? "Payment canceled" : "Thank you"}>
      {canceled ? (
        <Alert kind="info">Nothing was charged. You can buy whenever you like.</Alert>
      ) : (
        <>
          <ErrorText error={error} />
          {!state && <Loading what="your payment" />}
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
