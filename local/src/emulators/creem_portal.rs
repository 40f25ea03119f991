//! Creem's side of a plan in the person's hands (R47): a cancellation at the period's
//! end (`POST /v1/subscriptions/{id}/cancel` with `mode: scheduled`, answered by
//! `subscription.scheduled_cancel`), its resumption (`POST /v1/subscriptions/{id}/resume`,
//! for a subscription in `scheduled_cancel`), the customer's billing link
//! (`POST /v1/customers/billing {customer_id}` → `{customer_portal_link}`), and the
//! customer portal itself, whose Cancel cancels at the period's end as Creem's portal
//! does and sends Creem's event. Sources: npm `creem` 1.13.0 (`subscriptions.cancel`
//! with `mode` and `onExecute`, `subscriptions.resume`, `customers.generateBillingLinks`),
//! docs.creem.io's webhook list (`subscription.scheduled_cancel`, `subscription.update`);
//! read 2026-12-07. Which event follows a resume is not documented: the emulator sends
//! `subscription.update` with the subscription active again.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use super::creem::LOCAL_CREEM_KEY;
use super::creem_checkout::{
    CreemCheckouts, envelope, no_subscription, period_dates, subscription_json, unauthorized,
};

fn with_period(c: &CreemCheckouts, sub_id: &str, status: &str) -> Option<Value> {
    let subs = c.subscriptions.lock().unwrap();
    let sub = subs.get(sub_id)?;
    let mut object = subscription_json(sub_id, sub, status);
    let (start, end) = period_dates(sub.period());
    object["current_period_start_date"] = json!(start);
    object["current_period_end_date"] = json!(end);
    Some(object)
}

/// Cancels at the period's end and sends `subscription.scheduled_cancel` (once);
/// a cancelled subscription is answered as it is.
pub(super) async fn schedule_cancel(c: &CreemCheckouts, sub_id: &str) -> Option<(Value, Vec<u16>)> {
    let newly = {
        let mut subs = c.subscriptions.lock().unwrap();
        let sub = subs.get_mut(sub_id)?;
        let newly = !sub.canceled && !sub.scheduled_cancel;
        if !sub.canceled {
            sub.scheduled_cancel = true;
        }
        newly
    };
    let status = c.state_of(sub_id)?;
    let object = with_period(c, sub_id, &status)?;
    if !newly {
        return Some((object, Vec::new()));
    }
    let event = envelope("subscription.scheduled_cancel", object.clone());
    c.record(sub_id, std::slice::from_ref(&event));
    let statuses = c.deliver(vec![event]).await;
    Some((object, statuses))
}

fn keyed(headers: &HeaderMap) -> bool {
    headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(LOCAL_CREEM_KEY)
}

fn refused(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "Bad Request", "message": [message], "statusCode": 400 })),
    )
        .into_response()
}

/// `POST /v1/subscriptions/{id}/resume`.
pub(super) async fn api_resume(
    State(c): State<Arc<CreemCheckouts>>,
    Path(sub_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !keyed(&headers) {
        return unauthorized();
    }
    let resumed = {
        let mut subs = c.subscriptions.lock().unwrap();
        let Some(sub) = subs.get_mut(&sub_id) else {
            return no_subscription();
        };
        if sub.canceled || !sub.scheduled_cancel {
            return refused("Subscription must be in paused or scheduled_cancel status");
        }
        sub.scheduled_cancel = false;
        true
    };
    let Some(object) = with_period(&c, &sub_id, "active") else {
        return no_subscription();
    };
    if resumed {
        let event = envelope("subscription.update", object.clone());
        c.record(&sub_id, std::slice::from_ref(&event));
        c.deliver(vec![event]).await;
    }
    Json(object).into_response()
}

/// `POST /v1/customers/billing {customer_id}` → `{customer_portal_link}`.
pub(super) async fn api_billing_link(
    State(c): State<Arc<CreemCheckouts>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !keyed(&headers) {
        return unauthorized();
    }
    let customer = body["customer_id"].as_str().unwrap_or_default().to_owned();
    let known = known_customer(&c, &customer);
    if !known {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "Not Found", "message": ["Customer not found"], "statusCode": 404 })),
        )
            .into_response();
    }
    Json(json!({
        "customer_portal_link": format!("{}/_local/creem/portal/{customer}", c.base_url)
    }))
    .into_response()
}

/// Whether Creem knows the customer: one who paid, for a plan or a pack.
fn known_customer(c: &CreemCheckouts, customer: &str) -> bool {
    c.subscriptions
        .lock()
        .unwrap()
        .values()
        .any(|s| s.customer == customer)
        || c.transactions
            .lock()
            .unwrap()
            .values()
            .any(|t| t.customer == customer)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The customer portal: the customer's subscriptions, each with Cancel while it renews.
pub(super) async fn portal(
    State(c): State<Arc<CreemCheckouts>>,
    Path(customer): Path<String>,
) -> Response {
    let rows: Vec<String> = {
        let subs = c.subscriptions.lock().unwrap();
        let mut mine: Vec<(&String, _)> = subs
            .iter()
            .filter(|(_, s)| s.customer == customer)
            .collect();
        mine.sort_by(|a, b| a.0.cmp(b.0));
        mine.into_iter()
            .map(|(id, s)| {
                let status = s.status();
                let cancel = if status == "active" {
                    format!(
                        r#"<form method="post" action="/_local/creem/portal/{c}/subscriptions/{id}/cancel"><button type="submit">Cancel subscription</button></form>"#,
                        c = escape(&customer),
                        id = escape(id),
                    )
                } else {
                    String::new()
                };
                format!(
                    "<li><strong>{}</strong>: {}{cancel}</li>",
                    escape(&s.product.name),
                    escape(status)
                )
            })
            .collect()
    };
    if !known_customer(&c, &customer) {
        return (StatusCode::NOT_FOUND, "no such customer").into_response();
    }
    let rows = if rows.is_empty() {
        vec!["<li>You have no subscriptions.</li>".to_owned()]
    } else {
        rows
    };
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Creem customer portal (local)</title></head><body><main><h1>Your subscriptions</h1><p>Payment method, invoices and receipts are managed here.</p><ul>{}</ul></main></body></html>"#,
        rows.join("")
    ))
    .into_response()
}

/// The portal's Cancel: at the period's end, as Creem's portal does; back to the page.
pub(super) async fn portal_cancel(
    State(c): State<Arc<CreemCheckouts>>,
    Path((customer, sub_id)): Path<(String, String)>,
) -> Response {
    let theirs = c
        .subscriptions
        .lock()
        .unwrap()
        .get(&sub_id)
        .is_some_and(|s| s.customer == customer);
    if !theirs || schedule_cancel(&c, &sub_id).await.is_none() {
        return no_subscription();
    }
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/_local/creem/portal/{customer}"))],
    )
        .into_response()
}
