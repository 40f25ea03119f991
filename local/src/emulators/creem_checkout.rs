//! Creem's checkouts and webhooks, locally. `POST /_local/creem/api/v1/checkouts`
//! answers as Creem does (a local `checkout_url`); the control routes of `spec/api.md`
//! play the customer and Creem's billing, and send the signed events Creem would send
//! to the stack's `/v1/webhooks/creem`:
//!
//! - `POST /_local/creem/checkouts/{checkout_id}/complete` → `checkout.completed` (and,
//!   for a subscription, `subscription.active` and `subscription.paid`); the id is
//!   Creem's or ours (the `request_id` the checkout was made with);
//! - `POST /_local/creem/subscriptions/{id}/renew` → `subscription.paid`, next period,
//!   with the period's transaction and order (refused once the subscription is
//!   cancelled, as Creem charges no more);
//! - `POST /_local/creem/subscriptions/{id}/cancel` → `subscription.canceled`;
//! - `POST /_local/creem/refund {order_id}` → `refund.created`;
//! - `POST /_local/creem/resend {order_id}` → every event of that order again.
//!
//! And Creem's API for subscriptions: `POST /_local/creem/api/v1/subscriptions/{id}/cancel`
//! (`x-api-key`, `{mode}`) cancels at once, answers the subscription, and sends
//! `subscription.canceled`.
//!
//! Settings: the signature scheme (`creem-signature` or Standard Webhooks) and whether
//! every event is delivered twice, in shuffled order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use shared::domain::billing::{Product, ProductKind};
use shared::domain::webhook_signatures::{creem_signature, standard_signature};

use super::creem::LOCAL_CREEM_KEY;

/// The local webhook secret (Standard Webhooks form: `whsec_` + base64).
pub const LOCAL_CREEM_WEBHOOK_SECRET: &str = "whsec_bG9jYWwtY3JlZW0td2ViaG9vay1zZWNyZXQ=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    CreemSignature,
    StandardWebhooks,
}

struct CheckoutRec {
    product: Product,
    request_id: String,
    metadata: Value,
    success_url: Option<String>,
}

struct SubscriptionRec {
    product: Product,
    metadata: Value,
    period: u32,
    canceled: bool,
}

pub struct CreemCheckouts {
    base_url: String,
    catalogue: Vec<Product>,
    http: reqwest::Client,
    checkouts: Mutex<HashMap<String, CheckoutRec>>,
    subscriptions: Mutex<HashMap<String, SubscriptionRec>>,
    /// Every event sent, by order id (for resends) and in order.
    sent: Mutex<Vec<(String, Value)>>,
    pub scheme: Mutex<Scheme>,
    pub deliver_twice: Mutex<bool>,
}

fn id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

impl CreemCheckouts {
    pub fn new(base_url: String, catalogue: Vec<Product>) -> Arc<Self> {
        Arc::new(Self {
            base_url,
            catalogue,
            http: crate::http_client(),
            checkouts: Mutex::default(),
            subscriptions: Mutex::default(),
            sent: Mutex::default(),
            scheme: Mutex::new(Scheme::CreemSignature),
            deliver_twice: Mutex::new(false),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/_local/creem/api/v1/checkouts", post(create))
            .route("/_local/creem/checkouts/{id}/complete", post(complete))
            .route("/_local/creem/checkout/{id}", get(super::creem_page::page))
            .route(
                "/_local/creem/checkout/{id}/pay",
                post(super::creem_page::pay),
            )
            .route(
                "/_local/creem/checkout/{id}/cancel",
                post(super::creem_page::cancel),
            )
            .route(
                "/_local/creem/api/v1/subscriptions/{id}/cancel",
                post(api_cancel),
            )
            .route("/_local/creem/subscriptions/{id}/renew", post(renew))
            .route("/_local/creem/subscriptions/{id}/cancel", post(cancel))
            .route("/_local/creem/refund", post(refund))
            .route("/_local/creem/resend", post(resend))
            .with_state(self.clone())
    }

    /// Whether the subscription was cancelled (through the API or the control route).
    pub fn is_canceled(&self, subscription_id: &str) -> Option<bool> {
        self.subscriptions
            .lock()
            .ok()?
            .get(subscription_id)
            .map(|s| s.canceled)
    }

    /// Every event sent so far.
    pub fn sent(&self) -> Vec<Value> {
        self.sent
            .lock()
            .map(|s| s.iter().map(|(_, e)| e.clone()).collect())
            .unwrap_or_default()
    }

    /// Signs and sends events to the stack's webhook, as Creem does (twice and
    /// shuffled if so set); returns the statuses answered.
    async fn deliver(&self, events: Vec<Value>) -> Vec<u16> {
        let mut queue = events.clone();
        if *self.deliver_twice.lock().unwrap() {
            queue.extend(events);
            queue.shuffle(&mut rand::rng());
        }
        let scheme = *self.scheme.lock().unwrap();
        let mut statuses = Vec::new();
        for event in queue {
            let body = event.to_string();
            let mut req = self
                .http
                .post(format!("{}/v1/webhooks/creem", self.base_url))
                .header("content-type", "application/json");
            match scheme {
                Scheme::CreemSignature => {
                    req = req.header(
                        "creem-signature",
                        creem_signature(LOCAL_CREEM_WEBHOOK_SECRET, body.as_bytes()),
                    );
                }
                Scheme::StandardWebhooks => {
                    let msg = id("msg");
                    let ts = chrono::Utc::now().timestamp();
                    req = req
                        .header("webhook-id", &msg)
                        .header("webhook-timestamp", ts.to_string())
                        .header(
                            "webhook-signature",
                            standard_signature(
                                LOCAL_CREEM_WEBHOOK_SECRET,
                                &msg,
                                ts,
                                body.as_bytes(),
                            ),
                        );
                }
            }
            let status = req
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            statuses.push(status);
        }
        statuses
    }

    fn record(&self, order_id: &str, events: &[Value]) {
        if let Ok(mut s) = self.sent.lock() {
            s.extend(events.iter().map(|e| (order_id.to_owned(), e.clone())));
        }
    }
}

fn envelope(event_type: &str, object: Value) -> Value {
    json!({
        "id": id("evt"),
        "eventType": event_type,
        "created_at": chrono::Utc::now().timestamp_millis(),
        "object": object,
    })
}

fn product_json(p: &Product) -> Value {
    json!({
        "id": p.creem_product_id,
        "object": "product",
        "name": p.name,
        "price": p.price_cents,
        "currency": p.currency,
        "billing_type": if p.kind == ProductKind::Subscription { "recurring" } else { "onetime" },
    })
}

fn period_dates(period: u32) -> (String, String) {
    let start = chrono::Utc::now() + chrono::Duration::days(30 * i64::from(period));
    let end = start + chrono::Duration::days(30);
    let f = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT00:00:00.000Z").to_string();
    (f(start), f(end))
}

/// The period's payment, as Creem's subscription object carries it.
fn period_transaction(s: &SubscriptionRec, order_id: &str) -> Value {
    json!({
        "id": format!("tran_{}", order_id.trim_start_matches("ord_")),
        "object": "transaction",
        "amount": s.product.price_cents,
        "currency": s.product.currency,
        "status": "paid",
        "type": "invoice",
        "order": order_id,
    })
}

fn paid_json(sub_id: &str, s: &SubscriptionRec, order_id: &str) -> Value {
    let mut object = subscription_json(sub_id, s, "active");
    let transaction = period_transaction(s, order_id);
    object["last_transaction_id"] = transaction["id"].clone();
    object["last_transaction"] = transaction;
    object
}

fn subscription_json(sub_id: &str, s: &SubscriptionRec, status: &str) -> Value {
    let (start, end) = period_dates(s.period);
    json!({
        "id": sub_id,
        "object": "subscription",
        "product": product_json(&s.product),
        "customer": { "id": "cust_local", "object": "customer", "email": "buyer@example.com", "name": "Local Buyer" },
        "status": status,
        "current_period_start_date": start,
        "current_period_end_date": end,
        "metadata": s.metadata,
        "mode": "test",
    })
}

fn unauthorized() -> Response {
    (StatusCode::FORBIDDEN, Json(json!({ "error": "Forbidden" }))).into_response()
}

async fn create(
    State(c): State<Arc<CreemCheckouts>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(LOCAL_CREEM_KEY) {
        return unauthorized();
    }
    let Some(product) = body["product_id"]
        .as_str()
        .and_then(|pid| c.catalogue.iter().find(|p| p.creem_product_id == pid))
    else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "Product not found" })),
        )
            .into_response();
    };
    let checkout_id = id("ch");
    let request_id = body["request_id"].as_str().unwrap_or_default().to_owned();
    c.checkouts.lock().unwrap().insert(
        checkout_id.clone(),
        CheckoutRec {
            product: product.clone(),
            request_id: request_id.clone(),
            metadata: body["metadata"].clone(),
            success_url: body["success_url"].as_str().map(str::to_owned),
        },
    );
    let mut answer = json!({
        "id": checkout_id,
        "mode": "test",
        "object": "checkout",
        "status": "pending",
        "product": product.creem_product_id,
        "units": body["units"].as_i64().unwrap_or(1),
        "checkout_url": format!("{}/_local/creem/checkout/{checkout_id}", c.base_url),
        "metadata": body["metadata"],
    });
    if !request_id.is_empty() {
        answer["request_id"] = json!(request_id);
    }
    if let Some(url) = body["success_url"].as_str() {
        answer["success_url"] = json!(url);
    }
    Json(answer).into_response()
}

async fn complete(
    State(c): State<Arc<CreemCheckouts>>,
    Path(checkout_id): Path<String>,
) -> Response {
    match c.complete_checkout(&checkout_id).await {
        Some(done) => Json(json!({ "order_id": done.order_id, "subscription_id": done.subscription_id, "webhook_statuses": done.statuses }))
            .into_response(),
        None => no_checkout(),
    }
}

pub(super) fn no_checkout() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no such checkout" })),
    )
        .into_response()
}

/// A paid checkout: what Creem redirects the customer back with.
pub(super) struct Completed {
    pub checkout_id: String,
    pub order_id: String,
    pub subscription_id: Option<String>,
    pub product_id: String,
    pub request_id: String,
    pub success_url: Option<String>,
    pub statuses: Vec<u16>,
}

impl CreemCheckouts {
    /// Finds a pending checkout by Creem's id or ours (the request id it was made with)
    /// and, with `take`, removes it.
    /// The key of a pending checkout named by Creem's id or ours (the request id it
    /// was made with).
    fn key_of(checkouts: &HashMap<String, CheckoutRec>, checkout_id: &str) -> Option<String> {
        if checkouts.contains_key(checkout_id) {
            return Some(checkout_id.to_owned());
        }
        checkouts
            .iter()
            .find(|(_, r)| !r.request_id.is_empty() && r.request_id == checkout_id)
            .map(|(k, _)| k.clone())
    }

    /// Removes a pending checkout: it is paid or abandoned now.
    fn take_checkout(&self, checkout_id: &str) -> Option<(String, CheckoutRec)> {
        let mut checkouts = self.checkouts.lock().unwrap();
        let key = Self::key_of(&checkouts, checkout_id)?;
        checkouts.remove(&key).map(|r| (key, r))
    }

    /// The product of a pending checkout, for its payment page.
    pub(super) fn pending(&self, checkout_id: &str) -> Option<Product> {
        let checkouts = self.checkouts.lock().unwrap();
        let key = Self::key_of(&checkouts, checkout_id)?;
        checkouts.get(&key).map(|r| r.product.clone())
    }

    /// Forgets a checkout the customer walked away from (nothing is sent).
    pub(super) fn abandon(&self, checkout_id: &str) -> Option<Option<String>> {
        self.take_checkout(checkout_id).map(|(_, r)| r.success_url)
    }

    /// Pays a pending checkout: sends the signed webhooks Creem would.
    pub(super) async fn complete_checkout(&self, checkout_id: &str) -> Option<Completed> {
        let (creem_id, rec) = self.take_checkout(checkout_id)?;
        let c = self;
        let checkout_id = creem_id;
        let order_id = id("ord");
        let recurring = rec.product.kind == ProductKind::Subscription;
        let mut object = json!({
            "id": checkout_id,
            "object": "checkout",
            "request_id": rec.request_id,
            "order": {
                "id": order_id,
                "customer": "cust_local",
                "product": rec.product.creem_product_id,
                "amount": rec.product.price_cents,
                "currency": rec.product.currency,
                "status": "paid",
                "type": if recurring { "recurring" } else { "onetime" },
            },
            "product": product_json(&rec.product),
            "customer": { "id": "cust_local", "object": "customer", "email": "buyer@example.com", "name": "Local Buyer", "country": "NL" },
            "status": "completed",
            "metadata": rec.metadata,
            "mode": "test",
        });
        let mut events = Vec::new();
        let mut subscription_id = None;
        if recurring {
            let sub_id = id("sub");
            let sub = SubscriptionRec {
                product: rec.product.clone(),
                metadata: rec.metadata.clone(),
                period: 0,
                canceled: false,
            };
            object["subscription"] = subscription_json(&sub_id, &sub, "active");
            events.push(envelope("checkout.completed", object));
            events.push(envelope(
                "subscription.active",
                subscription_json(&sub_id, &sub, "active"),
            ));
            events.push(envelope(
                "subscription.paid",
                paid_json(&sub_id, &sub, &order_id),
            ));
            c.subscriptions.lock().unwrap().insert(sub_id.clone(), sub);
            subscription_id = Some(sub_id);
        } else {
            events.push(envelope("checkout.completed", object));
        }
        c.record(&order_id, &events);
        let statuses = c.deliver(events).await;
        Some(Completed {
            checkout_id,
            order_id,
            subscription_id,
            product_id: rec.product.creem_product_id.clone(),
            request_id: rec.request_id,
            success_url: rec.success_url,
            statuses,
        })
    }
}

async fn renew(State(c): State<Arc<CreemCheckouts>>, Path(sub_id): Path<String>) -> Response {
    let order_id = id("ord");
    let event = {
        let mut subs = c.subscriptions.lock().unwrap();
        let Some(sub) = subs.get_mut(&sub_id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such subscription" })),
            )
                .into_response();
        };
        if sub.canceled {
            return (
                StatusCode::CONFLICT,
                Json(json!({ "error": "subscription is canceled: nothing is charged" })),
            )
                .into_response();
        }
        sub.period += 1;
        envelope("subscription.paid", paid_json(&sub_id, sub, &order_id))
    };
    c.record(&order_id, std::slice::from_ref(&event));
    let statuses = c.deliver(vec![event]).await;
    Json(json!({ "order_id": order_id, "webhook_statuses": statuses })).into_response()
}

async fn cancel(State(c): State<Arc<CreemCheckouts>>, Path(sub_id): Path<String>) -> Response {
    match cancel_subscription(&c, &sub_id).await {
        Some((_, statuses)) => Json(json!({ "webhook_statuses": statuses })).into_response(),
        None => no_subscription(),
    }
}

/// Creem's `POST /v1/subscriptions/{id}/cancel`: cancels at once (either mode, here)
/// and answers the subscription object.
async fn api_cancel(
    State(c): State<Arc<CreemCheckouts>>,
    Path(sub_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(LOCAL_CREEM_KEY) {
        return unauthorized();
    }
    match cancel_subscription(&c, &sub_id).await {
        Some((object, _)) => Json(object).into_response(),
        None => no_subscription(),
    }
}

fn no_subscription() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no such subscription" })),
    )
        .into_response()
}

/// Cancels a subscription and sends `subscription.canceled` (once: cancelling a
/// cancelled one answers it as it is); its object and the webhook's statuses.
async fn cancel_subscription(c: &CreemCheckouts, sub_id: &str) -> Option<(Value, Vec<u16>)> {
    let (object, newly) = {
        let mut subs = c.subscriptions.lock().unwrap();
        let sub = subs.get_mut(sub_id)?;
        let newly = !sub.canceled;
        sub.canceled = true;
        let mut object = subscription_json(sub_id, sub, "canceled");
        object["canceled_at"] = json!(chrono::Utc::now().to_rfc3339());
        (object, newly)
    };
    if !newly {
        return Some((object, Vec::new()));
    }
    let event = envelope("subscription.canceled", object.clone());
    c.record(sub_id, std::slice::from_ref(&event));
    let statuses = c.deliver(vec![event]).await;
    Some((object, statuses))
}

async fn refund(State(c): State<Arc<CreemCheckouts>>, Json(body): Json<Value>) -> Response {
    let Some(order_id) = body["order_id"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "order_id is required" })),
        )
            .into_response();
    };
    // The order of a checkout, or of a subscription's period.
    let paid = c.sent().into_iter().find_map(|e| {
        let o = &e["object"];
        if o["order"]["id"] == order_id {
            return Some((o["order"].clone(), o["customer"].clone()));
        }
        let t = &o["last_transaction"];
        (t["order"] == order_id).then(|| {
            (
                json!({ "id": order_id, "amount": t["amount"], "currency": t["currency"], "status": "paid", "transaction": t["id"] }),
                o["customer"].clone(),
            )
        })
    });
    let Some(paid) = paid else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such order" })),
        )
            .into_response();
    };
    let (order, customer) = paid;
    let event = envelope(
        "refund.created",
        json!({
            "id": id("ref"),
            "object": "refund",
            "status": "succeeded",
            "refund_amount": body["amount"].as_i64().or(order["amount"].as_i64()),
            "refund_currency": order["currency"],
            "reason": "requested_by_customer",
            "transaction": { "id": id("tran"), "object": "transaction", "amount": order["amount"] },
            "order": order,
            "customer": customer,
            "mode": "test",
        }),
    );
    c.record(order_id, std::slice::from_ref(&event));
    let statuses = c.deliver(vec![event]).await;
    Json(json!({ "webhook_statuses": statuses })).into_response()
}

async fn resend(State(c): State<Arc<CreemCheckouts>>, Json(body): Json<Value>) -> Response {
    let Some(order_id) = body["order_id"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "order_id is required" })),
        )
            .into_response();
    };
    let events: Vec<Value> = c
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(o, _)| o == order_id)
        .map(|(_, e)| e.clone())
        .collect();
    let statuses = c.deliver(events).await;
    Json(json!({ "webhook_statuses": statuses })).into_response()
}
