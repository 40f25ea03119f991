// Home and pricing: what the service makes (the models, from the API) and what it
// costs (the products, from the API). Neither needs a session.
import { api, ok } from "../api/client";
import { credits } from "../format";
import { ProductCard } from "../product";
import { useToken } from "../session";
import { useLocation } from "../router";
import { Alert, LoadError, Loading, Page, useLoad } from "../ui";

export function Home() {
  const signedIn = !!useToken();
  const deleted = useLocation().query.get("deleted") === "1";
  const models = useLoad(() => ok(api().GET("/v1/models")), []);
  const products = useLoad(() => ok(api().GET("/v1/billing/products")), []);
  return (
    <Page
      title="Turn a prompt into a video with sound"
      lead="Describe a scene, or start from your own image, and Sora2 AI makes a short video with synchronized audio. Every video is labelled as AI-generated."
    >
      {deleted && (
        <Alert kind="success">Your account is being deleted and every session has ended. Thank you for using Sora2 AI.</Alert>
      )}
      <p>
        <a class="button" href={signedIn ? "/create" : "/signin?next=/create"}>
          {signedIn ? "Create a video" : "Sign in to create a video"}
        </a>
      </p>

      <h2>Models</h2>
      {models.loading && <Loading what="models" />}
      <LoadError error={models.error} what="The models" retry={models.reload} />
      <ul class="cards">
        {models.data?.items.map((m) => (
          <li class="card" key={m.id}>
            <h3>
              {m.name} {m.default && <span class="tag">Default</span>}
            </h3>
            <p>
              {m.modes.map((x) => (x === "text" ? "Text to video" : "Image to video")).join(" · ")}
              {m.audio ? " · with sound" : ""}
            </p>
            <p class="muted">
              {m.seconds.map((s) => `${s} s: ${credits(m.cost[String(s)] ?? 0)}`).join(" · ")}
            </p>
          </li>
        ))}
      </ul>

      <h2 id="pricing">Pricing</h2>
      {products.loading && <Loading what="prices" />}
      <LoadError error={products.error} what="The prices" retry={products.reload} />
      <ul class="cards">
        {products.data?.items.map((p) => (
          <ProductCard key={p.id} product={p}>
            <a class="button secondary" href={signedIn ? `/credits#buy-${p.id}` : "/signin?next=/credits"}>
              Buy {p.name}
            </a>
          </ProductCard>
        ))}
      </ul>
    </Page>
  );
}
