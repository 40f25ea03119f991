//! Plans in the person's hands (R47): cancel at the period's end through Creem, resume
//! before it, the payments from our records, Creem's portal for the rest; a
//! cancellation made at Creem's portal shows here too, whatever order and however
//! often Creem's events arrive.

use e2e_tests::local_stack::emulators::creem_checkout::Scheme;
use e2e_tests::{TestStack, unique_email};
use serde_json::{Value, json};

async fn plan(t: &TestStack, token: &str) -> Value {
    t.get("/v1/billing", Some(token)).await.body["plan"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn r47_a_plan_is_cancelled_at_its_periods_end_resumed_before_it_and_ends_there() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("plan")).await;
    let done = t.buy(&token, "plan_monthly").await;
    let sub = done["subscription_id"].as_str().unwrap().to_owned();
    let before = plan(&t, &token).await;
    assert_eq!(before["renews"], true);
    assert!(before.get("cancel_at").is_none(), "{before}");

    let r = t
        .post("/v1/billing/plan/cancel", json!({}), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["plan"]["renews"], false);
    assert_eq!(r.body["plan"]["cancel_at"], before["period_end"]);
    assert_eq!(r.body["plan"]["status"], "scheduled_cancel");
    // Creem was asked to cancel at the period's end, not now.
    assert_eq!(
        t.stack.creem_checkouts.state_of(&sub).as_deref(),
        Some("scheduled_cancel")
    );
    // Again: the same answer, and nothing more asked of Creem.
    let again = t
        .post("/v1/billing/plan/cancel", json!({}), Some(&token))
        .await;
    assert_eq!(again.body, r.body);
    // The period's credits stay.
    assert_eq!(
        t.get("/v1/billing", Some(&token)).await.body["credits"],
        3 + 40
    );

    let resumed = t
        .post("/v1/billing/plan/resume", json!({}), Some(&token))
        .await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert_eq!(resumed.body["plan"]["renews"], true);
    assert!(resumed.body["plan"].get("cancel_at").is_none());
    assert_eq!(
        t.stack.creem_checkouts.state_of(&sub).as_deref(),
        Some("active")
    );
    assert_eq!(plan(&t, &token).await["renews"], true, "the events agree");

    // Cancelled again, the period ends: Creem cancels it and charges nothing more.
    t.post("/v1/billing/plan/cancel", json!({}), Some(&token))
        .await;
    let ended = t
        .post(
            &format!("/_local/creem/subscriptions/{sub}/renew"),
            json!({}),
            None,
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert!(
        ended.body.get("order_id").is_none(),
        "no charge: {}",
        ended.body
    );
    let p = plan(&t, &token).await;
    assert_eq!(
        (p["status"].as_str(), p["renews"].as_bool()),
        (Some("canceled"), Some(false))
    );
    assert_eq!(
        t.get("/v1/billing", Some(&token)).await.body["credits"],
        3 + 40
    );
    t.post("/v1/billing/plan/resume", json!({}), Some(&token))
        .await
        .assert_problem(409, "plan_not_resumable");
    // Without a plan: 404.
    let (other, _) = t.signed_in(&unique_email("noplan")).await;
    for path in [
        "/v1/billing/plan/cancel",
        "/v1/billing/plan/resume",
        "/v1/billing/portal",
    ] {
        t.post(path, json!({}), Some(&other))
            .await
            .assert_problem(404, "not_found");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r47_a_cancellation_at_creems_portal_shows_here_in_any_order_and_twice() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    *t.stack.creem_checkouts.scheme.lock().unwrap() = Scheme::StandardWebhooks;
    *t.stack.creem_checkouts.deliver_twice.lock().unwrap() = true;
    let (token, _) = t.signed_in(&unique_email("portal")).await;
    t.buy(&token, "plan_monthly").await;
    let link = t.post("/v1/billing/portal", json!({}), Some(&token)).await;
    assert_eq!(link.status, 200, "{}", link.body);
    let url = link.body["url"].as_str().unwrap().to_owned();
    assert!(url.contains("/_local/creem/portal/"), "{url}");
    // The portal page lists the subscription with a Cancel button.
    let page = t.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Monthly") && page.contains("Cancel"),
        "{page}"
    );
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let cancelled = t
        .http
        .post(format!("{}{action}", t.stack.base_url))
        .send()
        .await
        .unwrap();
    assert!(cancelled.status().is_success() || cancelled.status().is_redirection());
    // Within one webhook (here delivered twice, shuffled): not renewing, ending at the
    // period's end.
    let p = plan(&t, &token).await;
    assert_eq!(p["renews"], false, "{p}");
    assert_eq!(p["cancel_at"], p["period_end"]);
    // Every event of it sent again, in any order: the same state.
    let sent = t.stack.creem_checkouts.sent();
    let mut subscription_events: Vec<Value> = sent
        .iter()
        .filter(|e| {
            e["eventType"]
                .as_str()
                .unwrap_or_default()
                .starts_with("subscription.")
        })
        .cloned()
        .collect();
    subscription_events.reverse();
    for e in &subscription_events {
        t.post_creem_event(e).await;
    }
    assert_eq!(plan(&t, &token).await, p, "older events change nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn r47_the_payments_are_listed_with_their_status_newest_first() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("payments")).await;
    let first = t.buy(&token, "pack_10").await;
    t.clock.advance(std::time::Duration::from_secs(60));
    t.buy(&token, "plan_monthly").await;
    t.post(
        "/_local/creem/refund",
        json!({ "order_id": first["order_id"] }),
        None,
    )
    .await;
    let r = t.get("/v1/billing/payments", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", r.body);
    assert_eq!(items[0]["product_id"], "plan_monthly", "newest first");
    assert_eq!(items[1]["id"], first["order_id"]);
    assert_eq!(items[0]["status"], "paid");
    assert_eq!(items[1]["status"], "refunded");
    for p in items {
        assert!(p["amount_cents"].as_i64().unwrap() > 0);
        assert_eq!(p["currency"].as_str().unwrap().len(), 3);
        assert!(p.get("account_id").is_none());
    }
    // A buyer of packs alone opens Creem's portal too (the customer of their payment).
    let (packs, _) = t.signed_in(&unique_email("packs")).await;
    t.buy(&packs, "pack_10").await;
    let link = t.post("/v1/billing/portal", json!({}), Some(&packs)).await;
    assert_eq!(link.status, 200, "{}", link.body);
    let page = t
        .http
        .get(link.body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success());
    // Another person sees none of them.
    let (other, _) = t.signed_in(&unique_email("other")).await;
    let none = t.get("/v1/billing/payments", Some(&other)).await;
    assert_eq!(none.body["items"], json!([]));
}
