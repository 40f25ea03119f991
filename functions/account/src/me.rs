//! GET /v1/me: the account as its owner sees it.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use shared::ApiError;
use shared::adapters::dynamo::billing::Plan;
use shared::domain::account::Account;
use shared::domain::policy::POLICY_VERSION_CURRENT;
use shared::edge::http::AuthUser;
use utoipa::ToSchema;

use crate::state::AccountState;

#[derive(Serialize, ToSchema)]
pub struct Me {
    id: String,
    email: String,
    display_name: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    credits: i64,
    /// The current plan; null until one is bought.
    plan: Option<Plan>,
    identities: Vec<Identity>,
    consents: Consents,
    restricted: bool,
    policy_version_accepted: String,
    policy_version_current: &'static str,
    /// R34: tells the client to show the newer policy.
    policy_update_available: bool,
}

#[derive(Serialize, ToSchema)]
struct Identity {
    /// `email` or `google`.
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    linked_at: Option<String>,
}

#[derive(Serialize, Default, ToSchema)]
struct Consents {
    analytics: bool,
    marketing: bool,
    #[schema(format = DateTime)]
    updated_at: Option<String>,
}

impl Me {
    fn new(a: Account, credits: i64, plan: Option<Plan>) -> Self {
        let mut identities = vec![Identity {
            provider: "email",
            linked_at: Some(a.created_at.clone()),
        }];
        if a.google_sub.is_some() {
            identities.push(Identity {
                provider: "google",
                linked_at: a.google_linked_at.clone(),
            });
        }
        Self {
            policy_update_available: a.policy_version_accepted.as_str() < POLICY_VERSION_CURRENT,
            id: a.id,
            email: a.email,
            display_name: a.display_name,
            created_at: a.created_at,
            credits,
            plan,
            identities,
            consents: Consents::default(),
            restricted: false,
            policy_version_accepted: a.policy_version_accepted,
            policy_version_current: POLICY_VERSION_CURRENT,
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "account",
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's account", body = Me),
    )
)]
pub async fn get_me(
    State(state): State<AccountState>,
    user: AuthUser,
) -> Result<Json<Me>, ApiError> {
    let account = user.account;
    let credits = state.ledger.balance(&account.id).await?;
    let plan = state.billing.plan(&account.id).await?;
    Ok(Json(Me::new(account, credits, plan)))
}
