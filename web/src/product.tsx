// A product as the pricing on the home page and the credits page show it; the action
// (a link to sign in, a buy button) is the page's own.
import type { ComponentChildren } from "preact";
import type { components } from "./api/schema";
import { credits, money } from "./format";

type Product = components["schemas"]["ProductView"];

export function ProductCard(props: { product: Product; id?: string; children: ComponentChildren }) {
  const p = props.product;
  return (
    <li class="card" id={props.id}>
      <h3>{p.name}</h3>
      <p class="price">
        {money(p.price_cents, p.currency)}
        {p.period ? <span class="muted"> / {p.period}</span> : null}
      </p>
      <p>
        {credits(p.credits)}
        {p.kind === "subscription" ? ` every ${p.period ?? "period"}` : ", once"}
      </p>
      {props.children}
    </li>
  );
}
