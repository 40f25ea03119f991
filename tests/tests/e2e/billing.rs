//! Payments through Creem: R08–R12. Checkouts are made through Creem's API, credits
//! come only from Creem's signed webhooks, once per cause, however often and in
//! whatever order the events arrive.

use e2e_tests::local_stack::emulators::creem_checkout::{LOCAL_CREEM_WEBHOOK_SECRET, Scheme};
use e2e_tests::{TestStack, unique_email};
use serde_json::json;
use shared::domain::webhook_signatures::creem_signature;

async fn credits(t: &TestStack, token: &str) -> i64 {
    let r = t.get("/v1/billing", Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["credits"].as_i64().unwrap()
}

/// Posts a webhook body with a `creem-signature` (or the given headers).
async fn post_event(t: &TestStack, body: &str, headers: &[(&str, String)]) -> u16 {
    let mut req = t
        .http
        .post(t.url("/v1/webhooks/creem"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    t.send(req).await.status.as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn r08_r10_r11_a_pack_grants_once_however_often_its_event_arrives() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let products = t.get("/v1/billing/products", None).await;
    assert_eq!(products.status, 200);
    assert!(products.body["items"].as_array().unwrap().len() >= 2);
    let (token, account) = t.signed_in(&unique_email("buyer")).await;
    let done = t.buy(&token, "pack_10").await;
    assert_eq!(credits(&t, &token).await, 3 + 10);
    let order_id = done["order_id"].as_str().unwrap();
    // Creem's manual resend, ten times, five of them at once.
    for _ in 0..5 {
        t.post(
            "/_local/creem/resend",
            json!({ "order_id": order_id }),
            None,
        )
        .await;
    }
    let resends = (0..5).map(|_| {
        t.post(
            "/_local/creem/resend",
            json!({ "order_id": order_id }),
            None,
        )
    });
    futures_util::future::join_all(resends).await;
    assert_eq!(credits(&t, &token).await, 13, "granted once");
    assert_eq!(
        t.entries_for(&account, "purchase", &format!("order:{order_id}"))
            .await,
        1
    );
    let ledger = t.get("/v1/billing", Some(&token)).await.body["ledger"].clone();
    assert_eq!(ledger[0]["kind"], "purchase", "newest first: {ledger}");
}

#[tokio::test(flavor = "multi_thread")]
async fn r12_a_plan_grants_once_per_paid_period_and_its_state_follows_the_events() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    *t.stack.creem_checkouts.scheme.lock().unwrap() = Scheme::StandardWebhooks;
    *t.stack.creem_checkouts.deliver_twice.lock().unwrap() = true;
    let (token, _) = t.signed_in(&unique_email("subscriber")).await;
    let done = t.buy(&token, "plan_monthly").await;
    // checkout.completed and subscription.paid of the first period, each twice: once.
    assert_eq!(credits(&t, &token).await, 3 + 40);
    let sub = done["subscription_id"].as_str().unwrap().to_owned();
    let renewed = t
        .post(
            &format!("/_local/creem/subscriptions/{sub}/renew"),
            json!({}),
            None,
        )
        .await;
    assert_eq!(renewed.status, 200);
    assert_eq!(credits(&t, &token).await, 3 + 80, "two periods, two grants");
    let plan = t.get("/v1/billing", Some(&token)).await.body["plan"].clone();
    assert_eq!(
        (plan["status"].as_str(), plan["renews"].as_bool()),
        (Some("active"), Some(true))
    );
    assert_eq!(
        t.get("/v1/me", Some(&token)).await.body["plan"],
        plan,
        "/v1/me shows it too"
    );
    t.post(
        &format!("/_local/creem/subscriptions/{sub}/cancel"),
        json!({}),
        None,
    )
    .await;
    let plan = t.get("/v1/billing", Some(&token)).await.body["plan"].clone();
    assert_eq!(
        (plan["status"].as_str(), plan["renews"].as_bool()),
        (Some("canceled"), Some(false))
    );
    // An older event arriving late changes nothing.
    let stale = t
        .stack
        .creem_checkouts
        .sent()
        .into_iter()
        .find(|e| e["eventType"] == "subscription.active")
        .unwrap();
    let body = stale.to_string();
    let sig = creem_signature(LOCAL_CREEM_WEBHOOK_SECRET, body.as_bytes());
    assert_eq!(
        post_event(&t, &body, &[("creem-signature", sig)]).await,
        200
    );
    let plan = t.get("/v1/billing", Some(&token)).await.body["plan"].clone();
    assert_eq!(plan["status"], "canceled", "the later event's state stays");
    assert_eq!(credits(&t, &token).await, 83);
}

/// R09, R12: a checkout that names its subscription by id (Creem's types allow it) and
/// Creem's documented renewal (its payment by `last_transaction_id` alone) grant each
/// period once, in any order, and the plan shows its period.
#[tokio::test(flavor = "multi_thread")]
async fn r12_a_checkout_naming_its_subscription_by_id_grants_the_period_once() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    *t.stack.creem_checkouts.subscription_as_id.lock().unwrap() = true;
    *t.stack.creem_checkouts.deliver_twice.lock().unwrap() = true;
    let (token, account) = t.signed_in(&unique_email("sub-by-id")).await;
    let done = t.buy(&token, "plan_monthly").await;
    assert_eq!(credits(&t, &token).await, 3 + 40);
    let checkout = t
        .stack
        .creem_checkouts
        .sent()
        .into_iter()
        .find(|e| e["eventType"] == "checkout.completed")
        .unwrap();
    assert!(checkout["object"]["subscription"].is_string(), "{checkout}");
    let plan = t.get("/v1/billing", Some(&token)).await.body["plan"].clone();
    assert_eq!(plan["status"], "active", "{plan}");
    assert!(plan["period_end"].is_string(), "{plan}");
    // One payment record per paid period, none for the checkout's order itself.
    let billing = &t.stack.functions.checkout_webhook.billing;
    let order = done["order_id"].as_str().unwrap();
    assert!(billing.payment(order).await.unwrap().is_none());
    let purchases = t.ledger(&account).await;
    assert_eq!(
        purchases.iter().filter(|e| e.kind == "purchase").count(),
        1,
        "{purchases:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r10_a_bad_signature_is_401_and_writes_nothing() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("forger")).await;
    let event = json!({
        "id": "evt_forged",
        "eventType": "checkout.completed",
        "created_at": 1_795_000_000_000_i64,
        "object": {
            "order": { "id": "ord_forged", "amount": 900, "currency": "EUR", "status": "paid", "type": "onetime" },
            "product": { "id": "prod_pack_10" },
            "metadata": { "account_id": account },
        }
    });
    let body = event.to_string();
    let good = creem_signature(LOCAL_CREEM_WEBHOOK_SECRET, body.as_bytes());
    let before = (
        t.table_text("BillingTable").await,
        t.table_text("LedgerTable").await,
    );
    let now = t.clock.epoch_secs();
    let stale = shared::domain::webhook_signatures::standard_signature(
        LOCAL_CREEM_WEBHOOK_SECRET,
        "msg_1",
        now - 301,
        body.as_bytes(),
    );
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("creem-signature", String::new())],
        vec![("creem-signature", good[..32].to_owned())],
        vec![("creem-signature", format!("{good}00"))],
        vec![("creem-signature", "z".repeat(64))],
        vec![(
            "creem-signature",
            creem_signature("whsec_other", body.as_bytes()),
        )],
        vec![
            ("webhook-id", "msg_1".to_owned()),
            ("webhook-timestamp", (now - 301).to_string()),
            ("webhook-signature", stale),
        ],
    ];
    for headers in &cases {
        assert_eq!(post_event(&t, &body, headers).await, 401, "{headers:?}");
    }
    assert_eq!(
        (
            t.table_text("BillingTable").await,
            t.table_text("LedgerTable").await
        ),
        before,
        "nothing written"
    );
    // Over the size limit: 413, whatever the signature.
    let big = "x".repeat(70 * 1024);
    assert_eq!(
        post_event(&t, &big, &[("creem-signature", good.clone())]).await,
        413
    );
    // The right signature works; the same event again changes nothing.
    assert_eq!(
        post_event(&t, &body, &[("creem-signature", good.clone())]).await,
        200
    );
    assert_eq!(
        post_event(&t, &body, &[("creem-signature", good)]).await,
        200
    );
    assert_eq!(credits(&t, &token).await, 13);
}

#[tokio::test(flavor = "multi_thread")]
async fn r11_a_refund_after_spending_leaves_a_negative_balance_that_blocks_videos() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("refunded")).await;
    let done = t.buy(&token, "pack_10").await;
    for i in 0..5 {
        let r = t
            .submit_video(
                &token,
                json!({ "prompt": format!("spend {i}"), "seconds": 8 }),
                None,
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    assert_eq!(credits(&t, &token).await, 3);
    let r = t
        .post(
            "/_local/creem/refund",
            json!({ "order_id": done["order_id"] }),
            None,
        )
        .await;
    assert_eq!(r.body["webhook_statuses"][0], 200, "{}", r.body);
    assert_eq!(credits(&t, &token).await, -7, "clawed back below zero");
    t.submit_video(&token, json!({ "prompt": "one more", "seconds": 4 }), None)
        .await
        .assert_problem(402, "insufficient_credits");
}

#[tokio::test(flavor = "multi_thread")]
async fn r09_nothing_of_the_card_or_the_customer_is_stored() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("private")).await;
    t.buy(&token, "pack_10").await;
    t.buy(&token, "plan_monthly").await;
    let mut stored = String::new();
    for table in ["BillingTable", "LedgerTable", "AccountsTable"] {
        stored.push_str(&t.table_text(table).await);
    }
    for carried in ["buyer@example.com", "Local Buyer", "cust_local", "\"NL\""] {
        assert!(!stored.contains(carried), "{carried} was stored");
    }
    assert!(
        stored.contains("payment#"),
        "the payment itself is recorded"
    );
}

/// An event type with no effect here is acknowledged (200) so Creem stops resending it,
/// and changes nothing. Also: what one pack purchase's webhook call costs.
#[tokio::test(flavor = "multi_thread")]
async fn r10_unknown_events_are_acknowledged_and_change_nothing() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("unknown-event")).await;
    let event = json!({
        "id": "evt_unknown_1",
        "eventType": "payout.scheduled",
        "created_at": 1_795_000_000_000_i64,
        "object": { "metadata": { "account_id": account } },
    });
    let body = event.to_string();
    let sig = creem_signature(LOCAL_CREEM_WEBHOOK_SECRET, body.as_bytes());
    let ledger = t.table_text("LedgerTable").await;
    assert_eq!(
        post_event(&t, &body, &[("creem-signature", sig)]).await,
        200
    );
    assert_eq!(t.table_text("LedgerTable").await, ledger);
    assert_eq!(credits(&t, &token).await, 3);

    // One pack purchase's webhook call: its AWS requests and its latency here.
    let r = t
        .post(
            "/v1/billing/checkout",
            json!({ "product_id": "pack_10" }),
            Some(&token),
        )
        .await;
    let checkout = t
        .recorded_checkout(r.body["checkout_id"].as_str().unwrap())
        .await;
    let counts = &t.stack.base.aws.requests;
    let before = counts.snapshot();
    let started = std::time::Instant::now();
    t.post(
        &format!(
            "/_local/creem/checkouts/{}/complete",
            checkout.creem_checkout_id
        ),
        json!({}),
        None,
    )
    .await;
    let took = started.elapsed();
    let after = counts.snapshot();
    let dynamodb = after[0] - before[0];
    println!(
        "one pack purchase webhook: {dynamodb} DynamoDB requests (one transaction), {took:?} for the emulator's call and the webhook's answer"
    );
    assert_eq!(
        dynamodb, 1,
        "the event marker, payment and grant in one transaction"
    );
    assert_eq!(
        (
            after[1] - before[1],
            after[2] - before[2],
            after[3] - before[3]
        ),
        (0, 0, 0)
    );
    assert_eq!(credits(&t, &token).await, 13);
}

/// The ledger is read a page at a time (the cost of a request grows with the page, not
/// with the account's history), newest first, with no entry missed or repeated.
#[tokio::test(flavor = "multi_thread")]
async fn r11_the_ledger_pages_newest_first() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("pages")).await;
    for _ in 0..55 {
        t.grant(&account, 1).await;
    }
    let first = t.get("/v1/billing", Some(&token)).await;
    assert_eq!(first.body["credits"], 3 + 55);
    let page1 = first.body["ledger"].as_array().unwrap().clone();
    assert_eq!(page1.len(), 50);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = t
        .send(
            t.http
                .get(t.url("/v1/billing"))
                .query(&[("cursor", cursor.as_str())])
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    let page2 = second.body["ledger"].as_array().unwrap().clone();
    assert_eq!(page1.len() + page2.len(), 56, "every entry once");
    assert!(second.body["next_cursor"].is_null());
    let mut ids: Vec<&str> = page1
        .iter()
        .chain(&page2)
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let times: Vec<&str> = page1
        .iter()
        .chain(&page2)
        .map(|e| e["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 56);
    t.get("/v1/billing?cursor=bm90LW91cnM", Some(&token))
        .await
        .assert_problem(422, "invalid_request");
}

/// A chargeback claws the order's credits back once, however often Creem sends it.
#[tokio::test(flavor = "multi_thread")]
async fn r11_a_dispute_claws_back_once() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("disputed")).await;
    let done = t.buy(&token, "pack_10").await;
    let event = json!({
        "id": "evt_dispute_1",
        "eventType": "dispute.created",
        "created_at": 1_795_000_000_000_i64,
        "object": { "id": "dsp_1", "object": "dispute", "amount": 900, "currency": "EUR", "order": { "id": done["order_id"] } },
    });
    let body = event.to_string();
    let sig = creem_signature(LOCAL_CREEM_WEBHOOK_SECRET, body.as_bytes());
    for _ in 0..3 {
        assert_eq!(
            post_event(&t, &body, &[("creem-signature", sig.clone())]).await,
            200
        );
    }
    assert_eq!(credits(&t, &token).await, 3, "13 − 10, once");
}

/// R10: the credits taken back for an order never exceed what it granted: two partial
/// refunds (the second with Creem's cumulative `refunded_amount`) take it all back
/// once, and a chargeback of the same order afterwards takes nothing more.
#[tokio::test(flavor = "multi_thread")]
async fn r10_clawbacks_of_one_order_stop_at_what_it_granted() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("clawed")).await;
    let done = t.buy(&token, "pack_10").await;
    let order = done["order_id"].as_str().unwrap();
    assert_eq!(credits(&t, &token).await, 13);
    // Half of what was paid (1089 with tax), then the rest.
    for amount in [Some(544), None] {
        let r = t
            .post(
                "/_local/creem/refund",
                json!({ "order_id": order, "amount": amount }),
                None,
            )
            .await;
        assert_eq!(r.body["webhook_statuses"][0], 200, "{}", r.body);
    }
    assert_eq!(credits(&t, &token).await, 3, "all 10 back, no more");
    let refund = t
        .stack
        .creem_checkouts
        .sent()
        .into_iter()
        .rfind(|e| e["eventType"] == "refund.created")
        .unwrap();
    let transaction = refund["object"]["transaction"].clone();
    assert_eq!(transaction["refunded_amount"], 1089, "{transaction}");
    // A chargeback of the same payment, as Creem documents `dispute.created`.
    let dispute = json!({
        "id": "evt_dispute_after_refund",
        "eventType": "dispute.created",
        "created_at": 1_795_000_000_000_i64,
        "object": { "id": "disp_after_refund", "object": "dispute", "amount": 1089, "currency": "EUR",
            "transaction": transaction, "order": refund["object"]["order"] },
    });
    let body = dispute.to_string();
    let sig = creem_signature(LOCAL_CREEM_WEBHOOK_SECRET, body.as_bytes());
    assert_eq!(
        post_event(&t, &body, &[("creem-signature", sig)]).await,
        200
    );
    assert_eq!(
        credits(&t, &token).await,
        3,
        "the dispute takes nothing more"
    );
    let clawed: i64 = t
        .ledger(&account)
        .await
        .iter()
        .filter(|e| e.kind == "clawback")
        .map(|e| e.amount)
        .sum();
    assert_eq!(clawed, -10);
}

/// Signs `object` as Creem's event `kind` and posts it; the status answered.
async fn send(t: &TestStack, id: &str, kind: &str, object: serde_json::Value) -> u16 {
    let body = json!({ "id": id, "eventType": kind, "created_at": 1_795_000_000_000_i64, "object": object })
        .to_string();
    let sig = creem_signature(LOCAL_CREEM_WEBHOOK_SECRET, body.as_bytes());
    post_event(t, &body, &[("creem-signature", sig)]).await
}

/// R11: credits follow what was paid (the policy's rule, `credits_for`): an order not
/// paid grants none, a full discount none, half the price half the credits; a trial
/// period none.
#[tokio::test(flavor = "multi_thread")]
async fn r11_credits_only_for_what_was_paid() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("paid-only")).await;
    let pack = |order: &str, status: &str, amount: i64| {
        json!({ "id": format!("ch_{order}"), "object": "checkout",
            "order": { "id": order, "amount": amount, "currency": "EUR", "status": status, "type": "onetime" },
            "product": { "id": "prod_pack_10" }, "metadata": { "account_id": account } })
    };
    assert_eq!(
        send(
            &t,
            "evt_pending",
            "checkout.completed",
            pack("ord_pending", "pending", 900)
        )
        .await,
        200
    );
    assert_eq!(
        send(
            &t,
            "evt_free",
            "checkout.completed",
            pack("ord_free", "paid", 0)
        )
        .await,
        200
    );
    assert_eq!(
        credits(&t, &token).await,
        3,
        "nothing for an unpaid or free order"
    );
    assert_eq!(
        send(
            &t,
            "evt_half",
            "checkout.completed",
            pack("ord_half", "paid", 450)
        )
        .await,
        200
    );
    assert_eq!(
        credits(&t, &token).await,
        3 + 5,
        "half the price, half the credits"
    );
    let trial = json!({ "id": "sub_trial", "object": "subscription", "product": { "id": "prod_plan_monthly" },
        "status": "trialing", "current_period_start_date": "2026-12-01T00:00:00.000Z",
        "current_period_end_date": "2026-12-08T00:00:00.000Z", "last_transaction_id": "tran_trial",
        "metadata": { "account_id": account } });
    assert_eq!(send(&t, "evt_trial", "subscription.paid", trial).await, 200);
    assert_eq!(credits(&t, &token).await, 8, "a trial grants nothing");
}

/// R28: Creem's answers to a cancellation read as Creem documents them: a refusal says
/// nothing by itself, so the subscription's own state decides (cancelled, or unknown
/// to Creem: nothing is charged).
#[tokio::test(flavor = "multi_thread")]
async fn r28_a_refused_cancellation_is_read_from_the_subscriptions_state() {
    use shared::adapters::creem::{Cancelled, CreemSubscriptions};
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, _) = t.signed_in(&unique_email("cancel-twice")).await;
    let sub = t.buy(&token, "plan_monthly").await["subscription_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = t.stack_env("privacy-requests").await;
    let creem = CreemSubscriptions::from_env(&env, t.stack.base.http.clone()).unwrap();
    assert_eq!(creem.cancel(&sub).await.unwrap(), Cancelled::Now);
    // Again: Creem refuses (400); the subscription reads cancelled.
    assert_eq!(creem.cancel(&sub).await.unwrap(), Cancelled::NotActive);
    assert_eq!(
        creem.cancel("sub_unknown_to_creem").await.unwrap(),
        Cancelled::NotActive
    );
}
