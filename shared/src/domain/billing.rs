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
    fn r12_the_catalogue_is_checked() {
        let ok = r#"[{"id":"pack_10","creem_product_id":"prod_a","name":"10 credits","kind":"credit_pack","credits":10,"price_cents":900,"currency":"EUR"},
                     {"id":"plan_monthly","creem_product_id":"prod_b","name":"Monthly","kind":"subscription","credits":40,"price_cents":2900,"currency":"EUR","period":"month"}]"#;
        assert_eq!(parse_catalogue(ok).unwrap().len(), 2);
        assert!(parse_catalogue("{}").is_err());
        let no_period = ok.replace(r#","period":"month""#, "");
        assert!(parse_catalogue(&no_period).is_err());
    }
}
