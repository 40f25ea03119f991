//! Consents, marketing and restriction (R22–R25, R29, R34): three separate consents
//! with their history, one-click unsubscribe, usage data, and what a restriction stops.

use e2e_tests::{TestStack, kept_for, unique_email};
use serde_json::json;
use shared::domain::policy::POLICY_VERSION_CURRENT;

/// R23, R34: consents with their history and the policy version; accepting the current
/// version is one call and `policy_update_available` turns false; withdrawing is as easy.
#[tokio::test(flavor = "multi_thread")]
async fn r23_r34_consents_are_recorded_with_history_and_policy_version() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("consent")).await;
    let me = t.get("/v1/me", Some(&token)).await;
    assert_eq!(me.body["consents"]["analytics"], false);
    assert_eq!(me.body["policy_version_accepted"], POLICY_VERSION_CURRENT);
    assert_eq!(me.body["policy_update_available"], false);
    // An account that accepted an older version is told, and accepts in one call.
    t.stack
        .aws
        .dynamodb()
        .update_item()
        .table_name(t.table("AccountsTable"))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("account#{account}")),
        )
        .update_expression("SET policy_version_accepted = :v")
        .expression_attribute_values(
            ":v",
            aws_sdk_dynamodb::types::AttributeValue::S("2024-01-01".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.get("/v1/me", Some(&token)).await.body["policy_update_available"],
        true
    );
    t.put(
        "/v1/me/consents",
        json!({ "policy_version": "2024-01-01" }),
        Some(&token),
    )
    .await
    .assert_problem(422, "unknown_policy_version");
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "analytics": true, "policy_version": POLICY_VERSION_CURRENT }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["analytics"], true);
    assert!(r.body["updated_at"].is_string());
    let me = t.get("/v1/me", Some(&token)).await;
    assert_eq!(me.body["policy_update_available"], false);
    assert_eq!(me.body["consents"]["analytics"], true);
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "analytics": false }),
            Some(&token),
        )
        .await;
    assert_eq!(r.body["analytics"], false);
    let history = t.privacy_items(&account, "consent#").await;
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0]["policy_version"].as_s().unwrap(),
        POLICY_VERSION_CURRENT
    );
    assert!(history.iter().all(|h| h.contains_key("at")));
}

/// R23: analytics cookies, marketing cookies and marketing email are three consents,
/// each with its own history; accepting marketing cookies never subscribes anyone to
/// email, and `marketing` is still taken as the old name of `marketing_email`.
#[tokio::test(flavor = "multi_thread")]
async fn r23_three_separate_consents_and_marketing_cookies_never_mean_email() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("three-consents");
    let (token, account) = t.signed_in(&email).await;
    let mails = t.emails_to(&email).await.len();
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "marketing_cookies": true }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            &r.body["analytics"],
            &r.body["marketing_cookies"],
            &r.body["marketing_email"]
        ),
        (&json!(false), &json!(true), &json!(false))
    );
    assert_eq!(
        t.emails_to(&email).await.len(),
        mails,
        "no marketing mail for accepting cookies"
    );
    let me = t.get("/v1/me", Some(&token)).await;
    assert_eq!(me.body["consents"]["marketing_cookies"], true);
    assert_eq!(me.body["consents"]["marketing_email"], false);
    // The old name sets the email consent only.
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "marketing": true }),
            Some(&token),
        )
        .await;
    assert_eq!(
        (&r.body["marketing_cookies"], &r.body["marketing_email"]),
        (&json!(true), &json!(true))
    );
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "marketing_cookies": false }),
            Some(&token),
        )
        .await;
    assert_eq!(
        (&r.body["marketing_cookies"], &r.body["marketing_email"]),
        (&json!(false), &json!(true)),
        "withdrawing cookies leaves email as it was"
    );
    // Each change is in the history with all three choices as they then were.
    let history = t.privacy_items(&account, "consent#").await;
    assert_eq!(history.len(), 3);
    let seen: Vec<(bool, bool, bool)> = history
        .iter()
        .map(|h| {
            (
                *h["analytics"].as_bool().unwrap(),
                *h["marketing_cookies"].as_bool().unwrap(),
                *h["marketing_email"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(seen.contains(&(false, true, false)));
    assert!(seen.contains(&(false, true, true)));
    assert!(seen.contains(&(false, false, true)));
}

/// R24: opting in sends a confirmation that is already a marketing mail, with the
/// signed unsubscribe link and the RFC 8058 headers; the link works without a session,
/// any number of times, by GET or one-click POST; a tampered one fails.
#[tokio::test(flavor = "multi_thread")]
async fn r24_marketing_mail_carries_a_one_click_unsubscribe_that_needs_no_session() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("news");
    let (token, _) = t.signed_in(&email).await;
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "marketing": true }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mail = t.wait_emails(&email, "subscribed", 1).await.remove(0);
    let headers = &mail["headers"];
    let link = headers["List-Unsubscribe"].as_str().unwrap();
    assert_eq!(
        headers["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    let url = link
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    // The text links to the website's unsubscribe page (R44) with the same token.
    let token_param = url.split_once("?token=").unwrap().1;
    assert!(
        mail["text"].as_str().unwrap().contains(&format!(
            "{}/unsubscribe?token={token_param}",
            t.stack.base_url
        )),
        "the page's link is in the text: {}",
        mail["text"]
    );
    let path = url.strip_prefix(&t.stack.base_url).unwrap().to_owned();
    let last = if path.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &path[..path.len() - 1]);
    t.get(&tampered, None)
        .await
        .assert_problem(400, "invalid_token");
    let r = t
        .send(
            t.http
                .post(t.url(&path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["marketing"], false);
    assert_eq!(
        t.get(&path, None).await.status,
        200,
        "again: the same answer"
    );
    assert_eq!(
        t.get("/v1/me", Some(&token)).await.body["consents"]["marketing_email"],
        false
    );
    // Opting in again sends the confirmation again; without consent nothing is sent.
    let before = t.emails_to(&email).await.len();
    t.put(
        "/v1/me/consents",
        json!({ "analytics": true }),
        Some(&token),
    )
    .await;
    assert_eq!(t.emails_to(&email).await.len(), before);
}

/// R29: restriction is recorded and honoured: usage data is flagged and kept out of
/// analytics, no marketing mail goes out even with consent, and sign-in, the API and
/// downloads keep working.
#[tokio::test(flavor = "multi_thread")]
async fn r29_a_restricted_account_is_left_out_of_analytics_and_marketing() {
    let t = TestStack::start().await;
    let email = unique_email("restrict");
    let (token, account) = t.signed_in(&email).await;
    t.put(
        "/v1/me/consents",
        json!({ "analytics": true }),
        Some(&token),
    )
    .await;
    let r = t
        .put(
            "/v1/me/restriction",
            json!({ "restricted": true }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["restricted"], true);
    assert_eq!(t.get("/v1/me", Some(&token)).await.body["restricted"], true);
    let before = t.emails_to(&email).await.len();
    t.put(
        "/v1/me/consents",
        json!({ "marketing": true }),
        Some(&token),
    )
    .await;
    assert_eq!(
        t.emails_to(&email).await.len(),
        before,
        "no marketing while restricted"
    );
    // Still works: sign-in, a video and its download.
    let (token, _) = t.signed_in(&email).await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "rain on a tin roof", "seconds": 4 }),
            None,
        )
        .await;
    let video = t
        .wait_status(&token, v.body["id"].as_str().unwrap(), "ready", 30)
        .await;
    let file = t
        .http
        .get(video["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(file.status().is_success());
    // The requests made while restricted: the video's submission and its polls.
    let usage = t.privacy_items(&account, "usage#").await;
    let made_while_restricted: Vec<_> = usage
        .iter()
        .filter(|row| {
            let route = row["route"].as_s().unwrap();
            route == "/v1/videos/{id}"
                || (route == "/v1/videos" && row["method"].as_s().unwrap() == "POST")
        })
        .collect();
    // One submission, and its polls: one row per minute they fall in (two when they
    // straddle a minute's turn).
    let posts = made_while_restricted
        .iter()
        .filter(|row| row["route"].as_s().unwrap() == "/v1/videos")
        .count();
    assert_eq!(posts, 1, "{usage:?}");
    assert!((2..=3).contains(&made_while_restricted.len()), "{usage:?}");
    for row in made_while_restricted {
        assert_eq!(row["restricted"].as_bool().unwrap(), &true);
        assert_eq!(
            row["analytics"].as_bool().unwrap(),
            &false,
            "kept out of analytics"
        );
    }
}

/// R29: lifting a restriction brings back what the stored consents allow, from then
/// on: analytics over new usage rows; nothing is sent for the time restricted.
#[tokio::test(flavor = "multi_thread")]
async fn r29_lifting_a_restriction_brings_back_only_what_was_consented() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("unrestrict");
    let (token, account) = t.signed_in(&email).await;
    let restrict = |on: bool| {
        let t = &t;
        let token = token.clone();
        async move {
            let r = t
                .put(
                    "/v1/me/restriction",
                    json!({ "restricted": on }),
                    Some(&token),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    restrict(true).await;
    let r = t
        .put(
            "/v1/me/consents",
            json!({ "analytics": true, "marketing_email": true }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mails = t.emails_to(&email).await.len();
    // The usage rows of reading the profile: (restricted, analytics) of each.
    let reads = || async {
        let usage = t.privacy_items(&account, "usage#").await;
        let mut rows: Vec<(bool, bool)> = usage
            .iter()
            .filter(|u| {
                u["route"].as_s().unwrap() == "/v1/me" && u["method"].as_s().unwrap() == "GET"
            })
            .map(|u| {
                (
                    *u["restricted"].as_bool().unwrap(),
                    *u["analytics"].as_bool().unwrap(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    assert_eq!(reads().await, [(true, false)], "restricted: no analytics");
    restrict(false).await;
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    assert_eq!(
        reads().await,
        [(false, true), (true, false)],
        "consented: analytics again"
    );
    assert_eq!(
        t.emails_to(&email).await.len(),
        mails,
        "nothing sent for the time restricted"
    );
}

/// R22, R25: each signed-in request records usage data (IP, user agent, route, action,
/// time, referrer) kept 30 days; Do Not Track changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn r22_r25_each_request_records_usage_data_for_30_days_dnt_or_not() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("usage")).await;
    let r = t
        .send(
            t.http
                .get(t.url("/v1/me"))
                .bearer_auth(&token)
                .header("user-agent", "TestBrowser/1.0")
                .header("referer", "https://www.sora2ai.info/settings")
                .header("dnt", "1"),
        )
        .await;
    assert_eq!(r.status, 200);
    let usage = t.privacy_items(&account, "usage#").await;
    let u = usage
        .iter()
        .find(|u| u.get("user_agent").is_some())
        .expect("usage recorded");
    assert_eq!(u["ip"].as_s().unwrap(), "127.0.0.1");
    assert_eq!(u["user_agent"].as_s().unwrap(), "TestBrowser/1.0");
    assert_eq!(
        u["referrer"].as_s().unwrap(),
        "https://www.sora2ai.info/settings"
    );
    assert_eq!(u["route"].as_s().unwrap(), "/v1/me");
    assert_eq!(u["method"].as_s().unwrap(), "GET");
    assert_eq!(kept_for(u), 30 * 86400);
    let events = t.privacy_items(&account, "security#").await;
    let e = &events[0];
    assert_eq!(e["event"].as_s().unwrap(), "sign_in_email_code");
    assert_eq!(kept_for(e), 180 * 86400);
}
