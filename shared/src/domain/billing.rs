//! What can be bought (R08, R12): the catalogue, parsed from configuration by the
//! caller. How a webhook is authenticated is `webhook_signatures`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// A one-time purchase of `credits`.
    CreditPack,
    /// `credits` every paid period.
    Subscription,
}

/// One product: ours, mapped to Creem's product id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub creem_product_id: String,
    pub name: String,
    pub kind: ProductKind,
    pub credits: i64,
    pub price_cents: i64,
    pub currency: String,
    /// `month` or `year` for a subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

/// What Creem says was paid for a product, as far as an event says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paid<'a> {
    /// The order's or transaction's status (`paid`, `pending`, …), if the event says.
    pub status: Option<&'a str>,
    /// The amount before tax (a discount lowers it), if the event says.
    pub amount: Option<i64>,
    /// The subscription is in its trial: nothing was charged.
    pub trialing: bool,
}

/// Why a payment event grants no credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoCredits {
    #[error("the order is not paid")]
    Unpaid,
    #[error("the subscription is in its trial")]
    Trial,
    #[error("nothing was paid (a full discount)")]
    NothingPaid,
}

/// R08, R11, R12: the credits a payment grants, from what was paid. The rule:
/// - only a paid order or period grants (`pending` and the like grant nothing; an event
///   that names no status is a payment Creem reports as made, `subscription.paid`);
/// - a trial grants nothing: the credits come with the first paid period;
/// - a discount grants the credits in proportion to what was paid, rounded down, so a
///   100 % discount grants none; an amount at or above the price grants them all.
pub fn credits_for(product: &Product, paid: Paid<'_>) -> Result<i64, NoCredits> {
    if paid.trialing {
        return Err(NoCredits::Trial);
    }
    if paid.status.is_some_and(|s| s != "paid") {
        return Err(NoCredits::Unpaid);
    }
    let amount = paid.amount.unwrap_or(product.price_cents);
    if amount <= 0 {
        return Err(NoCredits::NothingPaid);
    }
    if amount >= product.price_cents || product.price_cents <= 0 {
        return Ok(product.credits);
    }
    match product.credits * amount / product.price_cents {
        0 => Err(NoCredits::NothingPaid),
        n => Ok(n),
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogueError {
    #[error("the catalogue is not a JSON list of products: {0}")]
    Unreadable(String),
    #[error("product {0}: {1}")]
    Invalid(String, &'static str),
}

/// The catalogue from its JSON form, checked: unique ids, positive credits and
/// prices, a period exactly for subscriptions.
pub fn parse_catalogue(json: &str) -> Result<Vec<Product>, CatalogueError> {
    let products: Vec<Product> =
        serde_json::from_str(json).map_err(|e| CatalogueError::Unreadable(e.to_string()))?;
    let mut seen = std::collections::BTreeSet::new();
    for p in &products {
        let bad = |why| Err(CatalogueError::Invalid(p.id.clone(), why));
        if !seen.insert(&p.id) || !seen.insert(&p.creem_product_id) {
            return bad("id used twice");
        }
        if p.credits <= 0 || p.price_cents <= 0 {
            return bad("credits and price must be positive");
        }
        match (p.kind, p.period.as_deref()) {
            (ProductKind::CreditPack, None) => {}
            (ProductKind::Subscription, Some("month" | "year")) => {}
            _ => return bad("a subscription has a period (month or year), a pack has none"),
        }
    }
    Ok(products)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r11_credits_follow_what_was_paid() {
        let pack = Product {
            id: "pack_10".into(),
            creem_product_id: "prod_pack_10".into(),
            name: "10 credits".into(),
            kind: ProductKind::CreditPack,
            credits: 10,
            price_cents: 900,
            currency: "EUR".into(),
            period: None,
        };
        let paid = |status, amount, trialing| {
            credits_for(
                &pack,
                Paid {
                    status,
                    amount,
                    trialing,
                },
            )
        };
        assert_eq!(paid(Some("paid"), Some(900), false), Ok(10));
        assert_eq!(
            paid(None, None, false),
            Ok(10),
            "subscription.paid names no status"
        );
        assert_eq!(
            paid(Some("pending"), Some(900), false),
            Err(NoCredits::Unpaid)
        );
        assert_eq!(paid(Some("paid"), Some(900), true), Err(NoCredits::Trial));
        assert_eq!(
            paid(Some("paid"), Some(0), false),
            Err(NoCredits::NothingPaid),
            "100 % off"
        );
        assert_eq!(
            paid(Some("paid"), Some(450), false),
            Ok(5),
            "half off: half the credits"
        );
        assert_eq!(
            paid(Some("paid"), Some(80), false),
            Err(NoCredits::NothingPaid),
            "below one credit"
        );
        assert_eq!(
            paid(Some("paid"), Some(1000), false),
            Ok(10),
            "never more than the product"
        );
    }

    #[test]
    fn r12_the_catalogue_is_checked() {
        let ok = r#"[{"id":"pack_10","creem_product_id":"prod_a","name":"10 credits","kind":"credit_pack","credits":10,"price_cents":900,"currency":"EUR"},
                     {"id":"plan_monthly","creem_product_id":"prod_b","name":"Monthly","kind":"subscription","credits":40,"price_cents":2900,"currency":"EUR","period":"month"}]"#;
        assert_eq!(parse_catalogue(ok).unwrap().len(), 2);
        assert!(parse_catalogue("{}").is_err());
        let no_period = ok.replace(r#","period":"month""#, "");
        assert!(parse_catalogue(&no_period).is_err());
    }
}
