//! Sharing is the owner's choice (R49): an unlisted link to a ready video, only by its
//! owner, revocable, ending with the video (deleted, expired, erased), showing nothing
//! of the owner and the prompt only when the owner chose to; opening links is limited
//! per IP, and the viewer leaves nothing of themselves.

use e2e_tests::{TestStack, unique_email};
use serde_json::{Value, json};

async fn ready_video(t: &TestStack, token: &str, prompt: &str) -> String {
    let v = t
        .submit_video(token, json!({ "prompt": prompt, "seconds": 4 }), None)
        .await;
    let id = v.body["id"].as_str().unwrap().to_owned();
    t.wait_status(token, &id, "ready", 30).await;
    id
}

/// What the privacy table keeps of the account's requests and events.
async fn kept(t: &TestStack, account: &str) -> usize {
    t.privacy_items(account, "usage#").await.len()
        + t.privacy_items(account, "security#").await.len()
}

/// What the tables that could hold a viewer hold.
async fn personal_tables(t: &TestStack) -> String {
    let mut all = String::new();
    for table in [
        "AccountsTable",
        "SessionsTable",
        "PrivacyTable",
        "AuditTable",
        "VideosTable",
    ] {
        all.push_str(&t.table_text(table).await);
    }
    all
}

/// The owner (or another person, `token`) asks for `video`'s share link.
async fn share(t: &TestStack, token: &str, video: &str, body: Value) -> e2e_tests::Reply {
    t.post(&format!("/v1/videos/{video}/share"), body, Some(token))
        .await
}

/// The token of a link's URL (`…/s/{token}`).
fn token_of(link: &Value) -> String {
    link["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn r49_a_ready_video_is_shared_by_its_owner_only_and_shows_nothing_of_them() {
    let t = TestStack::start().await;
    let email = unique_email("sharer");
    let (token, account) = t.signed_in(&email).await;
    let video = ready_video(&t, &token, "a paper boat on a puddle").await;

    // Another person's video answers as none; a video not ready cannot be shared.
    let (other, _) = t.signed_in(&unique_email("other")).await;
    share(&t, &other, &video, json!({}))
        .await
        .assert_problem(404, "not_found");
    t.delete(&format!("/v1/videos/{video}/share"), Some(&other))
        .await
        .assert_problem(404, "not_found");
    t.outage("fal", "slow").await;
    t.outage("replicate", "slow").await;
    let waiting = t
        .submit_video(
            &token,
            json!({ "prompt": "still being made", "seconds": 4 }),
            None,
        )
        .await;
    t.post(
        &format!("/v1/videos/{}/share", waiting.body["id"].as_str().unwrap()),
        json!({}),
        Some(&token),
    )
    .await
    .assert_problem(409, "not_ready");

    let link = share(&t, &token, &video, json!({})).await;
    assert_eq!(link.status, 201, "{}", link.body);
    let url = link.body["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/s/", t.stack.base_url)),
        "{url}"
    );
    let share_token = token_of(&link.body);
    assert_eq!(share_token.len(), 32, "128 bits");
    // Again: the same link. The video shows it while it is live.
    let again = share(&t, &token, &video, json!({})).await;
    assert_eq!(again.body, link.body);
    let seen = t.get(&format!("/v1/videos/{video}"), Some(&token)).await;
    assert_eq!(seen.body["shared"]["url"], url.as_str());

    // Opened without sign-in: the video, a link to its file, nothing of its owner.
    let opened = t.get(&format!("/v1/shared/{share_token}"), None).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["ai_generated"], true);
    assert!(
        opened.body.get("prompt").is_none(),
        "the prompt only when shown"
    );
    let text = opened.body.to_string();
    // (The file's link names the video's object, as every video's does; nothing in it
    // names the person.)
    for owner in [email.as_str(), account.as_str(), "paper boat"] {
        assert!(!text.contains(owner), "{owner} in {text}");
    }
    assert_eq!(opened.headers["referrer-policy"], "no-referrer");
    assert_eq!(opened.headers["x-robots-tag"], "noindex");
    let file = t
        .http
        .get(opened.body["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(file.status().is_success());

    // The token is stored only as its hash.
    let stored = t.everything_stored().await;
    assert!(!stored.contains(&share_token), "the token is stored");

    // Revoked: 404 from then on, and again is fine.
    let revoked = t
        .delete(&format!("/v1/videos/{video}/share"), Some(&token))
        .await;
    assert_eq!(revoked.status, 204);
    t.get(&format!("/v1/shared/{share_token}"), None)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        t.delete(&format!("/v1/videos/{video}/share"), Some(&token))
            .await
            .status,
        204
    );
    // A new link is a new token; with the prompt shown when the owner says so.
    let shown = share(&t, &token, &video, json!({ "show_prompt": true })).await;
    let new_token = token_of(&shown.body);
    assert_ne!(new_token, share_token);
    let opened = t.get(&format!("/v1/shared/{new_token}"), None).await;
    assert_eq!(opened.body["prompt"], "a paper boat on a puddle");

    // Deleted: the link ends with the video, its record too.
    t.delete(&format!("/v1/videos/{video}"), Some(&token)).await;
    t.get(&format!("/v1/shared/{new_token}"), None)
        .await
        .assert_problem(404, "not_found");
    assert!(
        !t.everything_stored().await.contains("share#"),
        "its record is gone"
    );
    // A token of the right shape that names nothing, and one of another shape.
    for bad in ["0123456789abcdef0123456789abcdef", "not-a-token"] {
        t.get(&format!("/v1/shared/{bad}"), None)
            .await
            .assert_problem(404, "not_found");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r49_a_link_ends_when_its_video_expires_and_goes_with_an_erasure() {
    let t = TestStack::start().await;
    let email = unique_email("expiring");
    let (token, account) = t.signed_in(&email).await;
    let video = ready_video(&t, &token, "snow on a branch").await;
    let link = share(&t, &token, &video, json!({})).await;
    let share_token = token_of(&link.body);
    assert_eq!(
        link.body["expires_at"],
        t.get(&format!("/v1/videos/{video}"), Some(&token))
            .await
            .body["expires_at"]
    );
    // Another video, shared, then the account erased: the link's record goes with it.
    let email2 = unique_email("erased");
    let (token2, account2) = t.signed_in(&email2).await;
    let video2 = ready_video(&t, &token2, "a lantern").await;
    let link2 = share(&t, &token2, &video2, json!({})).await;
    let token_two = token_of(&link2.body);
    assert_eq!(
        t.get(&format!("/v1/shared/{token_two}"), None).await.status,
        200
    );
    // The link is part of the export: the video's record names it (its hash only).
    let code = t.rights_code(&token2, &email2).await;
    let erased = t
        .delete_json("/v1/me", json!({ "code": code }), Some(&token2))
        .await;
    assert_eq!(erased.status, 202, "{}", erased.body);
    t.wait_account_gone(&account2).await;
    t.get(&format!("/v1/shared/{token_two}"), None)
        .await
        .assert_problem(404, "not_found");
    let stored = t.everything_stored().await;
    assert!(
        !stored.contains(&shared::domain::sharing::token_hash(&token_two)),
        "the link's record went with the account"
    );
    // Expired (7 days on): the first link answers 404, before any purge.
    t.clock
        .advance(std::time::Duration::from_secs(7 * 86400 + 60));
    t.get(&format!("/v1/shared/{share_token}"), None)
        .await
        .assert_problem(404, "not_found");
    let _ = account;
}

#[tokio::test(flavor = "multi_thread")]
async fn r49_opening_links_is_limited_per_ip_and_leaves_nothing_of_the_viewer() {
    let t = TestStack::start_with(shared::domain::policy::Policy {
        shared_views_per_ip: shared::domain::policy::Limit::per_hour(3),
        provider_poll_interval: std::time::Duration::from_secs(1),
        provider_retry_base: std::time::Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let (token, account) = t.signed_in(&unique_email("limited")).await;
    let video = ready_video(&t, &token, "a kite").await;
    let link = share(&t, &token, &video, json!({})).await;
    let share_token = token_of(&link.body);
    let privacy_before = kept(&t, &account).await;
    let stored_before = personal_tables(&t).await;
    for _ in 0..3 {
        assert_eq!(
            t.get(&format!("/v1/shared/{share_token}"), None)
                .await
                .status,
            200
        );
    }
    let limited = t.get(&format!("/v1/shared/{share_token}"), None).await;
    limited.assert_problem(429, "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    // Nothing of the viewer: no usage row, no security event, for anyone.
    assert_eq!(kept(&t, &account).await, privacy_before);
    // Beyond the per-IP counter, the opens changed nothing stored.
    assert_eq!(
        personal_tables(&t).await,
        stored_before,
        "a viewer leaves nothing but the limit's counter"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r49_a_shared_pages_link_preview_says_ai_generated_and_never_the_prompt_or_the_owner() {
    let t = TestStack::start().await;
    let root = e2e_tests::workspace_root();
    assert!(
        root.join("web/dist/share.html").is_file(),
        "the site is built (`npm --prefix web run build`, as `make test` does first)"
    );
    let email = unique_email("preview");
    let (token, account) = t.signed_in(&email).await;
    let video = ready_video(&t, &token, "a heron in the reeds").await;
    let link = share(&t, &token, &video, json!({ "show_prompt": true })).await;
    assert_eq!(link.status, 201, "{}", link.body);
    // What a link preview reads: the page's HTML, no script run.
    let res = t
        .http
        .get(link.body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert_eq!(res.headers()["x-robots-tag"], "noindex");
    let html = res.text().await.unwrap();
    for tag in [
        r#"<meta property="og:title" content="An AI-generated video" />"#,
        r#"<meta property="og:type" content="video.other" />"#,
        r#"<meta name="robots" content="noindex" />"#,
        r#"<meta name="referrer" content="no-referrer" />"#,
        r#"<div id="app">"#,
    ] {
        assert!(html.contains(tag), "{tag} in {html}");
    }
    // The prompt was shown, yet the preview, the same for every link, never has it;
    // nor anything of the owner.
    for never in ["heron", email.as_str(), account.as_str(), &video] {
        assert!(!html.contains(never), "{never} in {html}");
    }
    // Every other page keeps the site's own head.
    let home = t.http.get(t.url("/videos")).send().await.unwrap();
    assert!(!home.text().await.unwrap().contains("og:title"));

    // In a deployment, CloudFront's /s/* behavior serves the same page.
    let template = e2e_tests::template_yaml();
    let behavior = template["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]
        ["CacheBehaviors"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|b| b["PathPattern"].as_str() == Some("/s/*"))
        .expect("a /s/* behavior");
    let association = &behavior["FunctionAssociations"][0];
    assert_eq!(association["EventType"].as_str(), Some("viewer-request"));
    let code = template["Resources"]["SharedPageFunction"]["Properties"]["FunctionCode"]
        .as_str()
        .unwrap();
    assert!(
        code.contains(&format!(
            "request.uri = \"/{}\"",
            e2e_tests::local_stack::site::SHARED_PAGE_FILE
        )),
        "{code}"
    );
}
