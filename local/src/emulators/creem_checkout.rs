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
//! Settings: the signature scheme (`creem-signature` or Standard Webhooks), whether
//! every event is delivered twice, in shuffled order, and whether a checkout names its
//! subscription by id (Creem's SDK types allow either) or as the object.
//!
//! The events are shaped as Creem's documented samples are (docs.creem.io/code/webhooks,
//! github armitage-labs/creem packages/docs/code/webhooks.mdx, changed 2026-04-16, read
//! 2026-12-07; copies in `local/vendor-samples/creem/`): a checkout's order has its
//! amount before tax; its subscription carries no period and no transaction; a
//! `subscription.paid` names its payment by `last_transaction_id` alone, with the
//! period's dates; a refund's `refund_amount` and its transaction's `amount_paid`
//! include tax (21 %, the Dutch VAT of the samples), its order's `amount` does not; a
//! transaction's order is an id.

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

pub(super) struct SubscriptionRec {
    pub(super) product: Product,
    metadata: Value,
    period: u32,
    pub(super) canceled: bool,
    /// Cancelled at the period's end (`mode: scheduled`): it runs until then.
    pub(super) scheduled_cancel: bool,
    /// Creem's customer: one per buyer, whose portal shows their subscriptions.
    pub(super) customer: String,
    /// The current period's payment.
    last_transaction: String,
}

/// One payment: a one-time order's, or a subscription period's.
#[derive(Clone)]
pub(super) struct TransactionRec {
    id: String,
    order: String,
    subscription: Option<String>,
    product: Product,
    /// Refunded so far, tax included.
    refunded: i64,
    /// When it was paid (epoch milliseconds, as Creem writes a transaction's time).
    created_at: i64,
    /// Who paid.
    pub(super) customer: String,
}

/// The tax Creem adds to a tax-exclusive price, in percent (its samples: NL, 21 %).
const TAX_PERCENT: i64 = 21;

fn tax_on(net: i64) -> i64 {
    net * TAX_PERCENT / 100
}

pub struct CreemCheckouts {
    pub(super) base_url: String,
    catalogue: Vec<Product>,
    http: reqwest::Client,
    checkouts: Mutex<HashMap<String, CheckoutRec>>,
    pub(super) subscriptions: Mutex<HashMap<String, SubscriptionRec>>,
    /// Every payment, by its order id.
    pub(super) transactions: Mutex<HashMap<String, TransactionRec>>,
    /// Every event sent, by order id (for resends) and in order.
    sent: Mutex<Vec<(String, Value)>>,
    pub scheme: Mutex<Scheme>,
    pub deliver_twice: Mutex<bool>,
    /// A checkout names its subscription by id rather than as the object.
    pub subscription_as_id: Mutex<bool>,
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
            transactions: Mutex::default(),
            sent: Mutex::default(),
            scheme: Mutex::new(Scheme::CreemSignature),
            deliver_twice: Mutex::new(false),
            subscription_as_id: Mutex::new(false),
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
            .route("/_local/creem/api/v1/subscriptions", get(api_subscription))
            .route(
                "/_local/creem/api/v1/subscriptions/{id}/resume",
                post(super::creem_portal::api_resume),
            )
            .route(
                "/_local/creem/api/v1/customers/billing",
                post(super::creem_portal::api_billing_link),
            )
            .route(
                "/_local/creem/portal/{customer}",
                get(super::creem_portal::portal),
            )
            .route(
                "/_local/creem/portal/{customer}/subscriptions/{id}/cancel",
                post(super::creem_portal::portal_cancel),
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

    /// The Creem customer a subscription belongs to.
    pub fn customer_of(&self, subscription_id: &str) -> Option<String> {
        self.subscriptions
            .lock()
            .ok()?
            .get(subscription_id)
            .map(|s| s.customer.clone())
    }

    /// The subscription's status as Creem shows it (`active`, `scheduled_cancel`,
    /// `canceled`).
    pub fn state_of(&self, subscription_id: &str) -> Option<String> {
        self.subscriptions
            .lock()
            .ok()?
            .get(subscription_id)
            .map(|s| s.status().to_owned())
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
    pub(super) async fn deliver(&self, events: Vec<Value>) -> Vec<u16> {
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

    pub(super) fn record(&self, order_id: &str, events: &[Value]) {
        if let Ok(mut s) = self.sent.lock() {
            s.extend(events.iter().map(|e| (order_id.to_owned(), e.clone())));
        }
    }
}

/// An event's envelope; `created_at` in epoch milliseconds, later for each event (as
/// Creem's are: two events of one checkout are never stamped the same).
pub(super) fn envelope(event_type: &str, object: Value) -> Value {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_millis();
    let at = LAST
        .fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |last| Some(now.max(last + 1)),
        )
        .map_or(now, |last| now.max(last + 1));
    json!({
        "id": id("evt"),
        "eventType": event_type,
        "created_at": at,
        "object": object,
    })
}

/// A time as Creem writes its objects' times: RFC 3339 with milliseconds.
fn stamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A product as Creem's events carry it (every field its SDK requires).
fn product_json(p: &Product) -> Value {
    let recurring = p.kind == ProductKind::Subscription;
    json!({
        "id": p.creem_product_id,
        "object": "product",
        "name": p.name,
        "description": p.name,
        "price": p.price_cents,
        "currency": p.currency,
        "billing_type": if recurring { "recurring" } else { "onetime" },
        "billing_period": if recurring { "every-month" } else { "once" },
        "status": "active",
        "tax_mode": "exclusive",
        "tax_category": "saas",
        "default_success_url": "",
        "created_at": "2026-11-01T00:00:00.000Z",
        "updated_at": "2026-11-01T00:00:00.000Z",
        "mode": "test",
    })
}

pub(super) fn period_dates(period: u32) -> (String, String) {
    let start = chrono::Utc::now() + chrono::Duration::days(30 * i64::from(period));
    let end = start + chrono::Duration::days(30);
    let f = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT00:00:00.000Z").to_string();
    (f(start), f(end))
}

/// The customer of a buyer (Creem keeps one per buyer): from our metadata's account.
fn customer_of(metadata: &Value) -> String {
    let account = metadata["account_id"].as_str().unwrap_or("anonymous");
    format!(
        "cust_{}",
        &shared::domain::crypto::sha256_hex(account)[..16]
    )
}

impl SubscriptionRec {
    /// Its current period's number (0 for the first).
    pub(super) fn period(&self) -> u32 {
        self.period
    }

    /// Its status as Creem shows it.
    pub(super) fn status(&self) -> &'static str {
        if self.canceled {
            "canceled"
        } else if self.scheduled_cancel {
            "scheduled_cancel"
        } else {
            "active"
        }
    }
}

fn customer_json(id: &str) -> Value {
    json!({
        "id": id,
        "object": "customer",
        "email": "buyer@example.com",
        "name": "Local Buyer",
        "country": "NL",
        "created_at": "2026-11-01T00:00:00.000Z",
        "updated_at": "2026-11-01T00:00:00.000Z",
        "mode": "test",
    })
}

/// A subscription as Creem's `subscription.*` events carry it: the product and the
/// customer as objects, no transaction.
pub(super) fn subscription_json(sub_id: &str, s: &SubscriptionRec, status: &str) -> Value {
    json!({
        "id": sub_id,
        "object": "subscription",
        "product": product_json(&s.product),
        "customer": customer_json(&s.customer),
        "collection_method": "charge_automatically",
        "status": status,
        "canceled_at": null,
        "metadata": s.metadata,
        "created_at": "2026-11-01T00:00:00.000Z",
        "updated_at": stamp(),
        "mode": "test",
    })
}

/// A subscription as a checkout or a refund carries it: the product and the customer
/// by id, no period.
fn nested_subscription_json(sub_id: &str, s: &SubscriptionRec, status: &str) -> Value {
    json!({
        "id": sub_id,
        "object": "subscription",
        "product": s.product.creem_product_id,
        "customer": s.customer,
        "collection_method": "charge_automatically",
        "status": status,
        "canceled_at": null,
        "metadata": s.metadata,
        "created_at": "2026-11-01T00:00:00.000Z",
        "updated_at": stamp(),
        "mode": "test",
    })
}

/// `subscription.paid`: the period's dates and its payment by id only.
fn paid_json(sub_id: &str, s: &SubscriptionRec) -> Value {
    let (start, end) = period_dates(s.period);
    let mut object = subscription_json(sub_id, s, "active");
    object["last_transaction_id"] = json!(s.last_transaction);
    object["last_transaction_date"] = json!(start);
    object["next_transaction_date"] = json!(end);
    object["current_period_start_date"] = json!(start);
    object["current_period_end_date"] = json!(end);
    object
}

/// An order as a checkout or a refund carries it: its amount before tax.
fn order_json(t: &TransactionRec) -> Value {
    json!({
        "object": "order",
        "id": t.order,
        "customer": "cust_local",
        "product": t.product.creem_product_id,
        "amount": t.product.price_cents,
        "currency": t.product.currency,
        "status": "paid",
        "type": if t.subscription.is_some() { "recurring" } else { "onetime" },
        "created_at": "2026-11-01T00:00:00.000Z",
        "updated_at": stamp(),
        "mode": "test",
    })
}

/// A transaction as a refund carries it: before tax, the tax, what was paid.
fn transaction_json(t: &TransactionRec) -> Value {
    let net = t.product.price_cents;
    let paid = net + tax_on(net);
    json!({
        "id": t.id,
        "object": "transaction",
        "amount": net,
        "amount_paid": paid,
        "currency": t.product.currency,
        "type": if t.subscription.is_some() { "invoice" } else { "payment" },
        "tax_country": "NL",
        "tax_amount": tax_on(net),
        // Creem's transaction statuses (npm `creem` 1.13.0 TransactionEntity).
        "status": if t.refunded >= paid { "refunded" } else if t.refunded > 0 { "partialRefund" } else { "paid" },
        "refunded_amount": if t.refunded > 0 { json!(t.refunded) } else { Value::Null },
        "order": t.order,
        "subscription": t.subscription,
        "description": if t.subscription.is_some() { "Subscription payment" } else { "Payment" },
        "created_at": t.created_at,
        "mode": "test",
    })
}

pub(super) fn unauthorized() -> Response {
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
        let sub_id = recurring.then(|| id("sub"));
        let transaction = TransactionRec {
            id: id("tran"),
            order: order_id.clone(),
            subscription: sub_id.clone(),
            product: rec.product.clone(),
            refunded: 0,
            created_at: chrono::Utc::now().timestamp_millis(),
            customer: customer_of(&rec.metadata),
        };
        let mut object = json!({
            "id": checkout_id,
            "object": "checkout",
            "request_id": rec.request_id,
            "order": order_json(&transaction),
            "product": product_json(&rec.product),
            "customer": customer_json(&customer_of(&rec.metadata)),
            "custom_fields": [],
            "status": "completed",
            "metadata": rec.metadata,
            "mode": "test",
        });
        let mut events = Vec::new();
        let mut subscription_id = None;
        if let Some(sub_id) = sub_id {
            let sub = SubscriptionRec {
                product: rec.product.clone(),
                metadata: rec.metadata.clone(),
                period: 0,
                canceled: false,
                scheduled_cancel: false,
                customer: customer_of(&rec.metadata),
                last_transaction: transaction.id.clone(),
            };
            object["subscription"] = if *c.subscription_as_id.lock().unwrap() {
                json!(sub_id)
            } else {
                nested_subscription_json(&sub_id, &sub, "active")
            };
            events.push(envelope("checkout.completed", object));
            // `subscription.active` as Creem's test mode sends it, with its period (the
            // documented sample is abridged; armitage-labs/creem
            // packages/convex/src/client/parsers.test.ts, 2026-03-30).
            let mut active = subscription_json(&sub_id, &sub, "active");
            let (start, end) = period_dates(sub.period);
            active["last_transaction_id"] = json!(sub.last_transaction);
            active["current_period_start_date"] = json!(start);
            active["current_period_end_date"] = json!(end);
            events.push(envelope("subscription.active", active));
            events.push(envelope("subscription.paid", paid_json(&sub_id, &sub)));
            c.subscriptions.lock().unwrap().insert(sub_id.clone(), sub);
            subscription_id = Some(sub_id);
        } else {
            events.push(envelope("checkout.completed", object));
        }
        c.transactions
            .lock()
            .unwrap()
            .insert(order_id.clone(), transaction);
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
    let ends = c
        .subscriptions
        .lock()
        .unwrap()
        .get(&sub_id)
        .is_some_and(|s| s.scheduled_cancel && !s.canceled);
    if ends {
        // Cancelled at the period's end, and the period is over: Creem ends it and
        // charges nothing more.
        return match cancel_subscription(&c, &sub_id).await {
            Some((_, statuses)) => {
                Json(json!({ "ended": true, "webhook_statuses": statuses })).into_response()
            }
            None => no_subscription(),
        };
    }
    let order_id = id("ord");
    let transaction_id = id("tran");
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
        sub.last_transaction = transaction_id.clone();
        c.transactions.lock().unwrap().insert(
            order_id.clone(),
            TransactionRec {
                id: transaction_id.clone(),
                order: order_id.clone(),
                subscription: Some(sub_id.clone()),
                product: sub.product.clone(),
                refunded: 0,
                created_at: chrono::Utc::now().timestamp_millis(),
                customer: sub.customer.clone(),
            },
        );
        envelope("subscription.paid", paid_json(&sub_id, sub))
    };
    c.record(&order_id, std::slice::from_ref(&event));
    let statuses = c.deliver(vec![event]).await;
    Json(json!({ "order_id": order_id, "transaction_id": transaction_id, "webhook_statuses": statuses }))
        .into_response()
}

async fn cancel(State(c): State<Arc<CreemCheckouts>>, Path(sub_id): Path<String>) -> Response {
    match cancel_subscription(&c, &sub_id).await {
        Some((_, statuses)) => Json(json!({ "webhook_statuses": statuses })).into_response(),
        None => no_subscription(),
    }
}

/// Creem's `POST /v1/subscriptions/{id}/cancel`: `mode: scheduled` cancels at the
/// period's end (`subscription.scheduled_cancel`), otherwise at once
/// (`subscription.canceled`); answers the subscription object.
async fn api_cancel(
    State(c): State<Arc<CreemCheckouts>>,
    Path(sub_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(LOCAL_CREEM_KEY) {
        return unauthorized();
    }
    if c.is_canceled(&sub_id) == Some(true) {
        // Creem refuses to cancel what is not active (its answer's words are not
        // documented; the subscription's state is what the caller reads).
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "Bad Request", "message": ["Subscription is not active"], "statusCode": 400 })),
        )
            .into_response();
    }
    let scheduled = serde_json::from_slice::<Value>(&body)
        .ok()
        .is_some_and(|b| b["mode"] == "scheduled");
    let done = if scheduled {
        super::creem_portal::schedule_cancel(&c, &sub_id).await
    } else {
        cancel_subscription(&c, &sub_id).await
    };
    match done {
        Some((object, _)) => Json(object).into_response(),
        None => no_subscription(),
    }
}

/// Creem's `GET /v1/subscriptions?subscription_id=…`: the subscription as it is.
async fn api_subscription(
    State(c): State<Arc<CreemCheckouts>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(LOCAL_CREEM_KEY) {
        return unauthorized();
    }
    let id = q.get("subscription_id").cloned().unwrap_or_default();
    let subs = c.subscriptions.lock().unwrap();
    match subs.get(&id) {
        Some(sub) => Json(subscription_json(&id, sub, sub.status())).into_response(),
        None => no_subscription(),
    }
}

pub(super) fn no_subscription() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no such subscription" })),
    )
        .into_response()
}

/// Cancels a subscription and sends `subscription.canceled` (once: cancelling a
/// cancelled one answers it as it is); its object and the webhook's statuses.
pub(super) async fn cancel_subscription(
    c: &CreemCheckouts,
    sub_id: &str,
) -> Option<(Value, Vec<u16>)> {
    let (object, newly) = {
        let mut subs = c.subscriptions.lock().unwrap();
        let sub = subs.get_mut(sub_id)?;
        let newly = !sub.canceled;
        sub.canceled = true;
        let (start, end) = period_dates(sub.period);
        let mut object = subscription_json(sub_id, sub, "canceled");
        object["canceled_at"] = json!(chrono::Utc::now().to_rfc3339());
        object["last_transaction_id"] = json!(sub.last_transaction);
        object["current_period_start_date"] = json!(start);
        object["current_period_end_date"] = json!(end);
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

/// `POST /_local/creem/refund {order_id, amount?}`: a refund of that order's payment,
/// `amount` (tax included) or what is left of it, as `refund.created`.
async fn refund(State(c): State<Arc<CreemCheckouts>>, Json(body): Json<Value>) -> Response {
    let Some(order_id) = body["order_id"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "order_id is required" })),
        )
            .into_response();
    };
    let refunded = {
        let mut transactions = c.transactions.lock().unwrap();
        let Some(t) = transactions.get_mut(order_id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": "no such order" })),
            )
                .into_response();
        };
        let paid = t.product.price_cents + tax_on(t.product.price_cents);
        let amount = body["amount"].as_i64().unwrap_or(paid - t.refunded);
        t.refunded += amount;
        (t.clone(), amount)
    };
    let (t, amount) = refunded;
    let mut object = json!({
        "id": id("ref"),
        "object": "refund",
        "status": "succeeded",
        "refund_amount": amount,
        "refund_currency": t.product.currency,
        "reason": "requested_by_customer",
        "transaction": transaction_json(&t),
        "order": order_json(&t),
        "customer": customer_json(&t.customer),
        "created_at": chrono::Utc::now().timestamp_millis(),
        "mode": "test",
    });
    if let Some(sub_id) = &t.subscription
        && let Some(sub) = c.subscriptions.lock().unwrap().get(sub_id)
    {
        let status = sub.status();
        object["subscription"] = nested_subscription_json(sub_id, sub, status);
    }
    let event = envelope("refund.created", object);
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
