//! The profile (R07, R27, R31): name and address rectified, the address only with
//! proof of both; support messages.

use e2e_tests::{TestStack, kept_for, unique_email};
use serde_json::json;

/// R07, R27: the display name is changed directly; a new address only with the code
/// sent to it, and the old address is told.
#[tokio::test(flavor = "multi_thread")]
async fn r07_r27_name_and_email_are_rectified_the_new_address_verified() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let old = unique_email("old");
    let new = unique_email("new");
    let (token, account) = t.signed_in(&old).await;
    let r = t
        .patch("/v1/me", json!({ "display_name": "  Ada  " }), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["display_name"], "Ada");
    let r = t
        .patch("/v1/me", json!({ "email": new }), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["email"], old, "unchanged until confirmed");
    assert_eq!(r.body["pending_email"], new);
    let code = t.latest_code(&new).await;
    t.post(
        "/v1/me/email/verify",
        json!({ "code": "999999" }),
        Some(&token),
    )
    .await
    .assert_problem(400, "invalid_code");
    let r = t
        .post("/v1/me/email/verify", json!({ "code": code }), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["email"], new);
    let told = t.wait_emails(&old, "address was changed", 1).await;
    assert!(
        !told[0]["text"].as_str().unwrap().contains(&new),
        "the old address sees only a mask"
    );
    // Sign-in follows the address.
    let (_, same) = t.signed_in(&new).await;
    assert_eq!(same, account);
    // Another account cannot take an address in use.
    let (other, _) = t.signed_in(&old).await;
    t.patch("/v1/me", json!({ "email": new }), Some(&other))
        .await
        .assert_problem(409, "email_taken");
}

/// R27, R05: a stolen session token alone cannot move the account to another address:
/// starting a change needs a sign-in within the last 10 minutes (one that proved the
/// current address). When the change is confirmed, every other session ends at once
/// and the one that made it goes on.
#[tokio::test(flavor = "multi_thread")]
async fn r27_r05_an_email_change_needs_a_recent_sign_in_and_ends_the_other_sessions() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let old = unique_email("moved");
    let new = unique_email("moved-to");
    let (stale, account) = t.signed_in(&old).await;
    let recent = shared::domain::policy::Policy::default().email_change_recent_sign_in;
    t.clock.advance(recent + std::time::Duration::from_secs(60));
    // An old session (say, a token copied off a machine) cannot start a change.
    t.patch("/v1/me", json!({ "email": new }), Some(&stale))
        .await
        .assert_problem(403, "recent_sign_in_required");
    assert!(t.emails_to(&new).await.is_empty(), "no code was sent");
    // It can still change what needs no proof.
    let r = t
        .patch(
            "/v1/me",
            json!({ "display_name": "Still me" }),
            Some(&stale),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Signing in again (a code to the current address) proves it.
    let (fresh, same) = t.signed_in(&old).await;
    assert_eq!(same, account);
    let (other_device, _) = t.signed_in(&old).await;
    let r = t
        .patch("/v1/me", json!({ "email": new }), Some(&fresh))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = t.latest_code(&new).await;
    let r = t
        .post("/v1/me/email/verify", json!({ "code": code }), Some(&fresh))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["email"], new);
    // Every other session ended with the change; this one goes on.
    for token in [&stale, &other_device] {
        t.get("/v1/me", Some(token))
            .await
            .assert_problem(401, "unauthorized");
    }
    assert_eq!(t.get("/v1/me", Some(&fresh)).await.status, 200);
    assert_eq!(t.security_events(&account, "email_changed").await, 1);
}

/// R31: a support message is forwarded to the support address, replies going to the
/// person, and kept 365 days.
#[tokio::test(flavor = "multi_thread")]
async fn r31_support_messages_are_forwarded_and_kept_a_year() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("help")).await;
    let r = t
        .post(
            "/v1/support",
            json!({ "subject": "Refund", "message": "please refund order 7" }),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let mails = t
        .wait_emails(
            e2e_tests::local_stack::stack::LOCAL_SUPPORT_EMAIL,
            "Refund",
            1,
        )
        .await;
    assert!(
        mails[0]["text"]
            .as_str()
            .unwrap()
            .contains("please refund order 7")
    );
    let kept = t.privacy_items(&account, "support#").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["id"].as_s().unwrap(), id);
    assert_eq!(kept_for(&kept[0]), 365 * 86400);
    t.post(
        "/v1/support",
        json!({ "subject": " ", "message": "x" }),
        Some(&token),
    )
    .await
    .assert_problem(422, "invalid_request");
}
