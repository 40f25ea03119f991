//! Limits exactly as promised (R02, R39): a code gets at most five comparisons however
//! many guesses arrive at once, wrong codes are counted before they are compared, and
//! "at most N an hour" holds over every hour, not per clock hour.

use std::time::Duration;

use e2e_tests::{TestStack, unique_email};
use serde_json::json;

/// R02, R22: a hundred concurrent wrong guesses of one sign-in code: at most five are
/// compared (each a recorded security event), at most ten count against the address in
/// the hour, and the right code afterwards is refused.
#[tokio::test(flavor = "multi_thread")]
async fn r02_r22_a_burst_of_guesses_gets_five_comparisons_and_the_code_is_void() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("burst");
    let (_, account) = t.sign_in_email(&email).await;
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let guesses = (0..100).map(|_| t.verify(&email, wrong, None));
    let answers = futures_util::future::join_all(guesses).await;
    for a in &answers {
        assert!(
            matches!(a.status.as_u16(), 400 | 429),
            "{}: {}",
            a.status,
            a.body
        );
    }
    let compared = t.security_events(&account, "sign_in_code_wrong").await;
    assert!(
        (1..=5).contains(&compared),
        "{compared} comparisons of one code"
    );
    let r = t.verify(&email, &code, None).await;
    assert!(
        matches!(r.status.as_u16(), 400 | 429),
        "the right code afterwards is refused: {}",
        r.body
    );
    // Over several codes, at most ten wrong ones count in the hour.
    for _ in 0..3 {
        t.clock.advance(Duration::from_secs(60));
        if t.start_email(&email).await.status != 202 {
            break;
        }
        let code = t.latest_code(&email).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let burst = (0..20).map(|_| t.verify(&email, wrong, None));
        futures_util::future::join_all(burst).await;
    }
    let counted = t.security_events(&account, "sign_in_code_wrong").await;
    assert!(counted <= 10, "{counted} wrong codes counted in the hour");
}

/// R30, R22: the same for a rights code: a burst of wrong guesses gets at most five
/// comparisons, and the right code afterwards is refused.
#[tokio::test(flavor = "multi_thread")]
async fn r30_r22_a_burst_of_wrong_rights_codes_gets_five_comparisons() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("rights-burst");
    let (token, account) = t.sign_in_email(&email).await;
    let code = t.rights_code(&token, &email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let guesses = (0..40).map(|_| t.post("/v1/me/export", json!({ "code": wrong }), Some(&token)));
    for a in futures_util::future::join_all(guesses).await {
        assert!(matches!(a.status.as_u16(), 400 | 429), "{}", a.body);
    }
    let compared = t.security_events(&account, "confirmation_code_wrong").await;
    assert!((1..=5).contains(&compared), "{compared} comparisons");
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    assert!(matches!(r.status.as_u16(), 400 | 429), "{}", r.body);
}

/// R02, R39: five codes an hour per address hold across a clock hour: five sent just
/// before the hour leave none just after it, and one is free an hour after the first.
#[tokio::test(flavor = "multi_thread")]
async fn r02_r39_five_codes_an_hour_hold_across_the_clock_hour() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    // Two minutes before a clock hour.
    let now = t.clock.epoch_secs();
    let next_hour = (now / 3600 + 1) * 3600;
    t.clock.set(next_hour - 120);
    let email = unique_email("edge");
    for _ in 0..5 {
        assert_eq!(t.start_email(&email).await.status, 202);
    }
    t.clock.set(next_hour + 60);
    let r = t.start_email(&email).await;
    r.assert_problem(429, "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        (3600 - 180..=3600).contains(&retry),
        "free when the first leaves the hour: {retry}"
    );
    assert_eq!(t.emails_to(&email).await.len(), 5);
    t.clock.set(next_hour - 120 + 3600 + 1);
    assert_eq!(t.start_email(&email).await.status, 202);
}

/// R39: rights requests are limited per IP too, over every account: twenty an hour
/// from one address, then 429 with `Retry-After`.
#[tokio::test(flavor = "multi_thread")]
async fn r39_rights_requests_are_limited_per_ip_across_accounts() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let mut sent = 0;
    'accounts: for i in 0..6 {
        let (token, _) = t
            .sign_in_email(&unique_email(&format!("rights-ip{i}")))
            .await;
        // Four per account: under the account's own limit (five an hour).
        for _ in 0..4 {
            let r = t.post("/v1/me/verification", json!({}), Some(&token)).await;
            if r.status == 429 {
                r.assert_problem(429, "rate_limited");
                assert!(r.headers.get("retry-after").is_some());
                break 'accounts;
            }
            assert_eq!(r.status, 202, "{}", r.body);
            sent += 1;
        }
    }
    assert_eq!(sent, 20, "twenty an hour from one IP");
}

/// R39: code verifications are limited per IP over every address (the policy's
/// number, made small here): once it is reached, even a right code from that IP is
/// refused with 429 before it is compared, and nothing is signed in.
#[tokio::test(flavor = "multi_thread")]
async fn r39_code_verifications_are_limited_per_ip_across_addresses() {
    use shared::domain::policy::Limit;
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.verifications_per_ip = Limit::per_hour(4);
    })
    .await;
    for i in 0..4 {
        t.sign_in_email(&unique_email(&format!("verify-ip{i}")))
            .await;
    }
    let email = unique_email("verify-ip-last");
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    let r = t.verify(&email, &code, Some(true)).await;
    r.assert_problem(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
    assert!(
        !t.account_with_email_exists(&email).await,
        "nothing signed in"
    );
    // An hour on, the IP may verify again.
    t.clock.advance(Duration::from_secs(3601));
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    assert_eq!(t.verify(&email, &code, Some(true)).await.status, 200);
}

/// R39: Google sign-ins are limited per IP over every Google account.
#[tokio::test(flavor = "multi_thread")]
async fn r39_google_sign_ins_are_limited_per_ip_across_accounts() {
    use shared::domain::policy::Limit;
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.google_signins_per_ip = Limit::per_hour(3);
    })
    .await;
    for i in 0..3 {
        let email = unique_email(&format!("google-ip{i}"));
        let token = t
            .google_token(&email, json!({ "sub": format!("g-ip-{i}-{email}") }))
            .await;
        assert_eq!(t.google_sign_in(&token, true).await.status, 200);
    }
    let email = unique_email("google-ip-last");
    let token = t
        .google_token(&email, json!({ "sub": format!("g-ip-last-{email}") }))
        .await;
    let r = t.google_sign_in(&token, true).await;
    r.assert_problem(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
}

/// R39: generations are limited per IP over every account, each account still under
/// its own limit; the refused request costs nothing, and a place frees an hour later.
#[tokio::test(flavor = "multi_thread")]
async fn r39_generations_are_limited_per_ip_across_accounts() {
    use shared::domain::policy::Limit;
    let t = TestStack::start_opts(|o| {
        o.consumers = false;
        o.policy.videos_per_ip = Limit::per_hour(3);
    })
    .await;
    let video = json!({ "prompt": "a lantern on a pier", "seconds": 4 });
    let (first, _) = t.sign_in_email(&unique_email("gen-ip-a")).await;
    for _ in 0..2 {
        assert_eq!(
            t.submit_video(&first, video.clone(), None).await.status,
            202
        );
    }
    let (second, account) = t.sign_in_email(&unique_email("gen-ip-b")).await;
    assert_eq!(
        t.submit_video(&second, video.clone(), None).await.status,
        202
    );
    let balance = t.balance(&account).await;
    let r = t.submit_video(&second, video.clone(), None).await;
    r.assert_problem(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(t.balance(&account).await, balance, "nothing charged");
    // An hour later the first ones have left the window: the full log is read, what
    // left is dropped, and this one is counted in their place.
    t.clock.advance(Duration::from_secs(3601));
    assert_eq!(t.submit_video(&second, video, None).await.status, 202);
}

/// R39: the codes that verify rights requests (and a change of address) are limited
/// per account, whatever the address they come from: past the policy's number an hour,
/// 429 with Retry-After, and no code is mailed.
#[tokio::test(flavor = "multi_thread")]
async fn r39_rights_request_codes_are_limited_per_account_to_a_429() {
    let t = TestStack::start().await;
    let email = unique_email("rights-limit");
    let (token, _) = t.signed_in(&email).await;
    let per_hour = t.stack.base.policy.codes_per_address.max;
    for _ in 0..per_hour {
        let r = t
            .post("/v1/me/verification", serde_json::json!({}), Some(&token))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let mailed = t.emails_to(&email).await.len();
    let refused = t
        .post("/v1/me/verification", serde_json::json!({}), Some(&token))
        .await;
    refused.assert_problem(429, "rate_limited");
    assert!(refused.headers.get("retry-after").is_some());
    assert_eq!(t.emails_to(&email).await.len(), mailed, "no code mailed");
}
