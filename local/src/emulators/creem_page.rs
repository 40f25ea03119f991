//! Creem's hosted payment page, locally: the `checkout_url` a checkout answers with
//! opens a page with the product and its price and two buttons. Pay completes the
//! checkout (the signed webhooks Creem would send) and redirects to the checkout's
//! `success_url` with Creem's query parameters; Cancel forgets it and goes back with
//! `status=canceled`, nothing charged. No card is asked for: it is a local stand-in.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::creem_checkout::{CreemCheckouts, no_checkout};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn price(cents: i64, currency: &str) -> String {
    format!("{}.{:02} {}", cents / 100, cents % 100, currency)
}

pub(super) async fn page(State(c): State<Arc<CreemCheckouts>>, Path(id): Path<String>) -> Response {
    let Some(product) = c.pending(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Html(shell(
                "Checkout not found",
                "<p>This checkout is paid, canceled or unknown.</p>",
            )),
        )
            .into_response();
    };
    let p = &product;
    let id = escape(&id);
    let body = format!(
        r#"<p class="merchant">Sora2 AI</p>
<h1>{name}</h1>
<p class="amount">{amount}{period}</p>
<p>Test mode: no card is charged on this local payment page.</p>
<form method="post" action="/_local/creem/checkout/{id}/pay"><button type="submit" class="pay">Pay {amount}</button></form>
<form method="post" action="/_local/creem/checkout/{id}/cancel"><button type="submit" class="cancel">Cancel</button></form>"#,
        name = escape(&p.name),
        amount = price(p.price_cents, &p.currency),
        period = p
            .period
            .as_deref()
            .map(|per| format!(" / {}", escape(per)))
            .unwrap_or_default(),
    );
    Html(shell("Pay — Creem (local)", &body)).into_response()
}

pub(super) async fn pay(State(c): State<Arc<CreemCheckouts>>, Path(id): Path<String>) -> Response {
    let Some(done) = c.complete_checkout(&id).await else {
        return no_checkout();
    };
    let Some(success) = done.success_url.as_deref() else {
        return Html(shell("Paid", "<h1>Payment received</h1>")).into_response();
    };
    let mut params = vec![
        ("checkout_id", done.checkout_id.as_str()),
        ("order_id", done.order_id.as_str()),
        ("product_id", done.product_id.as_str()),
        ("request_id", done.request_id.as_str()),
    ];
    if let Some(sub) = done.subscription_id.as_deref() {
        params.push(("subscription_id", sub));
    }
    redirect(success, &params)
}

pub(super) async fn cancel(
    State(c): State<Arc<CreemCheckouts>>,
    Path(id): Path<String>,
) -> Response {
    match c.abandon(&id) {
        Some(Some(success)) => redirect(&success, &[("status", "canceled")]),
        Some(None) => Html(shell("Canceled", "<h1>Payment canceled</h1>")).into_response(),
        None => no_checkout(),
    }
}

fn redirect(base: &str, params: &[(&str, &str)]) -> Response {
    match url::Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            Redirect::to(url.as_str()).into_response()
        }
        Err(_) => (
            StatusCode::BAD_GATEWAY,
            "the checkout's success_url is not a URL",
        )
            .into_response(),
    }
}

fn shell(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#111}}
button{{font-size:1rem;padding:.7rem 1.2rem;margin:.3rem 0;border-radius:.4rem;border:1px solid #333;cursor:pointer;width:100%}}
.pay{{background:#1d4ed8;color:#fff;border-color:#1d4ed8}}.amount{{font-size:1.6rem;font-weight:700}}.merchant{{color:#444}}</style>
</head><body><main>{body}</main></body></html>"#,
        title = escape(title),
    )
}
