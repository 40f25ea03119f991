//! `billing`: the catalogue, starting a Creem checkout, and the account's credits,
//! plan and ledger (R08, R11, R12); the plan in the person's hands: cancel at the
//! period's end, resume, the payments, Creem's portal (R47). Credits are granted only by `checkout-webhook`,
//! from Creem's signed events; nothing here grants anything.

mod creem;
mod state;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::adapters::creem::{PlanChangeError, SubscriptionState};
use shared::adapters::dynamo::billing::{Checkout, Plan};
use shared::domain::billing::{Product, ProductKind};
use shared::domain::clock::rfc3339;
use shared::edge::http::{ApiJson, ApiQuery, AuthUser, cursor};
use shared::edge::openapi::Problem;
use utoipa::{IntoParams, ToSchema};

pub use state::BillingState;

shared::http_routes!(BillingState {
    get "/v1/billing/products" => products,
    post "/v1/billing/checkout" => checkout,
    get "/v1/billing" => overview,
    post "/v1/billing/plan/cancel" => cancel_plan,
    post "/v1/billing/plan/resume" => resume_plan,
    get "/v1/billing/payments" => payments,
    post "/v1/billing/portal" => portal,
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
        items: state.catalogue.iter().map(ProductView::from).collect(),
    })
}

/// What the catalogue shows of a product: never Creem's own product id.
impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            kind: p.kind,
            credits: p.credits,
            price_cents: p.price_cents,
            currency: p.currency.clone(),
            period: p.period.clone(),
        }
    }
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
    let product = product_named(&state.catalogue, &req.product_id)?;
    let checkout_id = new_checkout_id();
    let created = state
        .creem
        .create(&product.creem_product_id, &checkout_id, &user.account_id)
        .await
        .map_err(|e| shared::edge::problem::unavailable("creem", e))?;
    state
        .billing
        .put_checkout(&Checkout {
            id: checkout_id.clone(),
            account_id: user.account_id.to_string(),
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

/// The catalogue's product with exactly this id (R08): anything else is 404, so a
/// checkout is only ever for a product we sell at the price we list.
fn product_named<'a>(catalogue: &'a [Product], id: &str) -> Result<&'a Product, ApiError> {
    catalogue
        .iter()
        .find(|p| p.id == id)
        .ok_or(ApiError::NotFound)
}

/// Our id of a new checkout: random, so it cannot be guessed, and the `request_id`
/// Creem sends back with the payment.
fn new_checkout_id() -> String {
    format!("chk_{}", uuid::Uuid::new_v4().simple())
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntry {
    id: String,
    /// Why the balance changed.
    #[schema(value_type = shared::domain::ledger::EntryKind)]
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

/// Where the ledger page starts: absent or empty is the first page, anything else
/// must be a cursor this API gave out.
fn page_after(cursor: Option<&str>) -> Result<Option<(String, String)>, ApiError> {
    cursor
        .filter(|c| !c.is_empty())
        .map(cursor::decode)
        .transpose()
}

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
    let after = page_after(q.cursor.as_deref())?;
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

#[derive(Serialize, ToSchema)]
pub struct PlanAnswer {
    plan: Plan,
}

/// The caller's plan, or 404 for someone who has none.
async fn plan_of(state: &BillingState, user: &AuthUser) -> Result<Plan, ApiError> {
    state
        .billing
        .plan(&user.account_id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Whether the plan's paid period is over (or it ended at Creem).
fn ended(plan: &Plan, now: shared::domain::clock::DateTime<shared::domain::clock::Utc>) -> bool {
    matches!(plan.status.as_str(), "canceled" | "cancelled" | "expired")
        || plan
            .period_end
            .as_deref()
            .and_then(shared::domain::clock::parse_time)
            .is_some_and(|end| end <= now)
}

fn plan_change_failed(e: PlanChangeError) -> ApiError {
    match e {
        PlanChangeError::Refused(_) => ApiError::PlanNotResumable,
        PlanChangeError::Unavailable(e) => shared::edge::problem::unavailable("creem", e),
    }
}

#[utoipa::path(
    post,
    path = "/v1/billing/plan/cancel",
    tag = "billing",
    security(("session" = [])),
    responses(
        (status = 200, description = "Cancelled at the end of the paid period (`renews: false`, `cancel_at`): nothing more is charged, the period's credits stay; again is the same answer", body = PlanAnswer),
        (status = 404, description = "`not_found`: no plan", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: Creem did not answer; nothing changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn cancel_plan(
    State(state): State<BillingState>,
    user: AuthUser,
) -> Result<Json<PlanAnswer>, ApiError> {
    let plan = plan_of(&state, &user).await?;
    if !plan.renews || ended(&plan, state.clock.now()) {
        return Ok(Json(PlanAnswer { plan }));
    }
    let at_creem = state
        .subscriptions
        .cancel_at_period_end(&plan.subscription_id)
        .await
        .map_err(plan_change_failed)?;
    tracing::info!(event = "plan_cancel_scheduled", account_id = %user.account_id, "plan cancelled at the period's end");
    Ok(Json(PlanAnswer {
        plan: state.settle(&user, plan, &at_creem, false).await?,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/billing/plan/resume",
    tag = "billing",
    security(("session" = [])),
    responses(
        (status = 200, description = "Renews again (`renews: true`); again is the same answer", body = PlanAnswer),
        (status = 404, description = "`not_found`: no plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plan_not_resumable`: its paid period is over; buy it again", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: Creem did not answer; nothing changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resume_plan(
    State(state): State<BillingState>,
    user: AuthUser,
) -> Result<Json<PlanAnswer>, ApiError> {
    let plan = plan_of(&state, &user).await?;
    if ended(&plan, state.clock.now()) {
        return Err(ApiError::PlanNotResumable);
    }
    if plan.renews {
        return Ok(Json(PlanAnswer { plan }));
    }
    let at_creem = state
        .subscriptions
        .resume(&plan.subscription_id)
        .await
        .map_err(plan_change_failed)?;
    tracing::info!(event = "plan_resumed", account_id = %user.account_id, "plan resumed");
    Ok(Json(PlanAnswer {
        plan: state.settle(&user, plan, &at_creem, true).await?,
    }))
}

impl crate::state::Services {
    /// Writes the plan as Creem answered the change, at this moment: Creem's own
    /// event about it follows and, being later, wins (R47: "within one webhook").
    async fn settle(
        &self,
        user: &AuthUser,
        plan: Plan,
        at_creem: &SubscriptionState,
        renews: bool,
    ) -> Result<Plan, ApiError> {
        let settled = Plan {
            status: at_creem.status.clone(),
            period_end: at_creem.current_period_end_date.clone().or(plan.period_end),
            renews,
            event_at: self.clock.now_millis().timestamp_millis(),
            ..plan
        }
        .with_cancel_at();
        match self.billing.put_plan(&user.account_id, &settled).await {
            Ok(()) => Ok(settled),
            // An event newer than this moment set it already: that state is Creem's.
            Err(e) if e.is_condition_failure() => Ok(self
                .billing
                .plan(&user.account_id)
                .await?
                .unwrap_or(settled)),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentsQuery {
    /// `next_cursor` of the previous page.
    #[param(max_length = 512)]
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    /// Creem's order (or a plan period's transaction).
    id: String,
    product_id: String,
    amount_cents: i64,
    currency: String,
    /// `paid`, `refunded`, `partially_refunded` or `disputed`.
    #[schema(pattern = "^(paid|refunded|partially_refunded|disputed)$")]
    status: String,
    #[schema(format = DateTime)]
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentList {
    /// Newest first.
    items: Vec<PaymentView>,
    next_cursor: Option<String>,
}

const PAYMENTS_PAGE: usize = 20;

#[utoipa::path(
    get,
    path = "/v1/billing/payments",
    tag = "billing",
    params(PaymentsQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's payments, newest first (R47)", body = PaymentList),
        (status = 422, description = "`invalid_request`: the cursor is not one this API gave out", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn payments(
    State(state): State<BillingState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<PaymentsQuery>,
) -> Result<Json<PaymentList>, ApiError> {
    let mut all = state.billing.payments(&user.account_id).await?;
    all.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.order_id.cmp(&a.order_id)));
    let start = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => {
            let (order_id, at) = cursor::decode(c)?;
            all.iter()
                .position(|p| p.order_id == order_id && p.at == at)
                .map(|i| i + 1)
                .ok_or_else(cursor::not_ours)?
        }
        None => 0,
    };
    let page: Vec<_> = all.iter().skip(start).take(PAYMENTS_PAGE).collect();
    let next_cursor = (start + page.len() < all.len())
        .then(|| page.last().map(|p| cursor::encode(&p.order_id, &p.at)))
        .flatten();
    Ok(Json(PaymentList {
        items: page
            .into_iter()
            .map(|p| PaymentView {
                id: p.order_id.clone(),
                product_id: p.product_id.clone(),
                amount_cents: p.amount,
                currency: p.currency.clone(),
                status: p.shown_status().to_owned(),
                created_at: p.at.clone(),
            })
            .collect(),
        next_cursor,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PortalLink {
    /// Creem's customer portal: payment method, invoices, receipts.
    url: String,
}

#[utoipa::path(
    post,
    path = "/v1/billing/portal",
    tag = "billing",
    security(("session" = [])),
    responses(
        (status = 200, description = "Creem's customer portal for the caller (R47)", body = PortalLink),
        (status = 404, description = "`not_found`: the caller never paid with Creem", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`: Creem did not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn portal(
    State(state): State<BillingState>,
    user: AuthUser,
) -> Result<Json<PortalLink>, ApiError> {
    let customer = state
        .billing
        .customer_of(&user.account_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let url = state
        .subscriptions
        .portal_link(&customer)
        .await
        .map_err(|e| match e {
            PlanChangeError::Refused(_) => ApiError::NotFound,
            PlanChangeError::Unavailable(e) => shared::edge::problem::unavailable("creem", e),
        })?;
    Ok(Json(PortalLink { url }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Vec<Product> {
        vec![
            Product {
                id: "pack_10".into(),
                creem_product_id: "prod_creem_pack".into(),
                name: "10 credits".into(),
                kind: ProductKind::CreditPack,
                credits: 10,
                price_cents: 900,
                currency: "EUR".into(),
                period: None,
            },
            Product {
                id: "plan_monthly".into(),
                creem_product_id: "prod_creem_plan".into(),
                name: "Monthly".into(),
                kind: ProductKind::Subscription,
                credits: 40,
                price_cents: 1900,
                currency: "EUR".into(),
                period: Some("month".into()),
            },
        ]
    }

    #[test]
    fn r08_a_checkout_is_only_for_a_product_of_the_catalogue_by_its_exact_id() {
        let all = catalogue();
        assert_eq!(
            product_named(&all, "plan_monthly").unwrap().price_cents,
            1900
        );
        assert_eq!(
            product_named(&all, "pack_10").unwrap().creem_product_id,
            "prod_creem_pack"
        );
        // Creem's id, another spelling or a prefix names no product of ours.
        for unknown in ["prod_creem_pack", "PACK_10", "pack_1", " pack_10", ""] {
            let err = product_named(&all, unknown).unwrap_err();
            assert_eq!((err.code(), err.status().as_u16()), ("not_found", 404));
        }
        assert!(product_named(&[], "pack_10").is_err());
    }

    #[test]
    fn r08_checkout_ids_are_prefixed_random_and_never_repeat() {
        let (a, b) = (new_checkout_id(), new_checkout_id());
        assert_ne!(a, b);
        let hex = a.strip_prefix("chk_").unwrap();
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn r12_the_catalogue_shows_prices_and_credits_but_not_creems_ids() {
        let shown: Vec<_> = catalogue()
            .iter()
            .map(|p| serde_json::to_value(ProductView::from(p)).unwrap())
            .collect();
        assert_eq!(
            shown[0],
            serde_json::json!({
                "id": "pack_10", "name": "10 credits", "kind": "credit_pack",
                "credits": 10, "price_cents": 900, "currency": "EUR",
            })
        );
        assert_eq!(shown[1]["period"], "month");
        assert_eq!(shown[1]["kind"], "subscription");
        assert!(!shown.iter().any(|p| p.to_string().contains("prod_creem")));
    }

    #[test]
    fn the_ledger_starts_at_the_top_without_a_cursor_and_refuses_a_forged_one() {
        assert_eq!(page_after(None).unwrap(), None);
        assert_eq!(page_after(Some("")).unwrap(), None);
        let next = cursor::encode("led_2", "2026-12-01T00:00:00.000Z");
        assert_eq!(
            page_after(Some(&next)).unwrap(),
            Some(("led_2".into(), "2026-12-01T00:00:00.000Z".into()))
        );
        let err = page_after(Some("not-ours")).unwrap_err();
        assert_eq!(
            (err.code(), err.status().as_u16()),
            ("invalid_request", 422)
        );
    }
}
