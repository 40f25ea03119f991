//! `billing`: the catalogue, starting a Creem checkout, and the account's credits,
//! plan and ledger (R08, R11, R12). Credits are granted only by `checkout-webhook`,
//! from Creem's signed events; nothing here grants anything.

mod creem;
mod state;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::adapters::dynamo::billing::{Checkout, Plan};
use shared::domain::billing::ProductKind;
use shared::domain::clock::rfc3339;
use shared::edge::http::{ApiJson, ApiQuery, AuthUser, cursor};
use shared::edge::openapi::Problem;
use utoipa::{IntoParams, ToSchema};

pub use state::BillingState;

shared::http_routes!(BillingState {
    get "/v1/billing/products" => products,
    post "/v1/billing/checkout" => checkout,
    get "/v1/billing" => overview,
});

#[derive(Serialize, ToSchema)]
pub struct ProductView {
    id: String,
    name: String,
    kind: ProductKind,
    credits: i64,
    price_cents: i64,
    currency: String,
    /// `month` or `year`, for a subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Products {
    items: Vec<ProductView>,
}

#[utoipa::path(
    get,
    path = "/v1/billing/products",
    tag = "billing",
    responses((status = 200, description = "What can be bought; no sign-in needed", body = Products))
)]
pub async fn products(State(state): State<BillingState>) -> Json<Products> {
    Json(Products {
        items: state
            .catalogue
            .iter()
            .map(|p| ProductView {
                id: p.id.clone(),
                name: p.name.clone(),
                kind: p.kind,
                credits: p.credits,
                price_cents: p.price_cents,
                currency: p.currency.clone(),
                period: p.period.clone(),
            })
            .collect(),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct CheckoutRequest {
    /// One of `GET /v1/billing/products`.
    #[schema(min_length = 1, max_length = 64)]
    product_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct CheckoutStarted {
    checkout_id: String,
    /// Creem's page where the person pays.
    checkout_url: String,
}

#[utoipa::path(
    post,
    path = "/v1/billing/checkout",
    tag = "billing",
    request_body(content = CheckoutRequest, content_type = "application/json"),
    security(("session" = [])),
    responses(
        (status = 201, description = "A Creem checkout; credits come when Creem says it was paid", body = CheckoutStarted),
        (status = 404, description = "`not_found`: no such product", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn checkout(
    State(state): State<BillingState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CheckoutRequest>,
) -> Result<(StatusCode, Json<CheckoutStarted>), ApiError> {
    let product = state
        .catalogue
        .iter()
        .find(|p| p.id == req.product_id)
        .ok_or(ApiError::NotFound)?;
    let checkout_id = format!("chk_{}", uuid::Uuid::new_v4().simple());
    let created = state
        .creem
        .create(&product.creem_product_id, &checkout_id, &user.account_id)
        .await
        .map_err(|e| shared::edge::problem::unavailable("creem", e))?;
    state
        .billing
        .put_checkout(&Checkout {
            id: checkout_id.clone(),
            account_id: user.account_id.clone(),
            product_id: product.id.clone(),
            creem_checkout_id: created.id,
            created_at: rfc3339(state.clock.now()),
        })
        .await?;
    tracing::info!(event = "checkout_started", account_id = %user.account_id, %checkout_id, product = %product.id, "checkout started");
    Ok((
        StatusCode::CREATED,
        Json(CheckoutStarted {
            checkout_id,
            checkout_url: created.checkout_url,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntry {
    id: String,
    /// `grant`, `purchase`, `debit`, `refund` or `clawback`.
    kind: String,
    /// What it did to the balance.
    amount: i64,
    #[schema(format = DateTime)]
    created_at: String,
    /// Its cause: a video, an order, a subscription period, a refund.
    #[serde(rename = "ref")]
    reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct Overview {
    credits: i64,
    plan: Option<Plan>,
    /// Newest first, a page at a time.
    ledger: Vec<LedgerEntry>,
    /// The next page's `cursor`; null on the last page.
    next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// `next_cursor` of the previous page; absent or empty for the first page.
    #[param(max_length = 512)]
    cursor: Option<String>,
}

const LEDGER_PAGE: i32 = 50;

#[utoipa::path(
    get,
    path = "/v1/billing",
    tag = "billing",
    params(OverviewQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "Credits, plan and ledger", body = Overview),
        (status = 422, description = "`invalid_request`: the cursor is not one this API gave out", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn overview(
    State(state): State<BillingState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<OverviewQuery>,
) -> Result<Json<Overview>, ApiError> {
    let after = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(cursor::decode)
        .transpose()?;
    // The three reads are independent: one round trip, not three.
    let (credits, plan, page) = tokio::join!(
        state.ledger.balance(&user.account_id),
        state.billing.plan(&user.account_id),
        state.ledger.page(
            &user.account_id,
            after.as_ref().map(|(id, at)| (id.as_str(), at.as_str())),
            LEDGER_PAGE,
        )
    );
    let (credits, plan, (entries, next)) = (credits?, plan?, page?);
    let ledger = entries
        .into_iter()
        .map(|e| LedgerEntry {
            id: e.id,
            kind: e.kind,
            amount: e.amount,
            created_at: e.created_at,
            reference: e.reference,
        })
        .collect();
    Ok(Json(Overview {
        credits,
        plan,
        ledger,
        next_cursor: next.map(|(id, at)| cursor::encode(&id, &at)),
    }))
}
