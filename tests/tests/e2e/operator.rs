//! The operators' command (R06, R20, R30): every action on an account is in the audit
//! log with who acted and why.

use e2e_tests::{TestStack, unique_email};
use serde_json::{Value, json};

/// The command as an operator runs it, with the stack's names.
async fn operator(t: &TestStack) -> operator::Operator {
    t.operator().await
}

async fn run(op: &operator::Operator, line: &str) -> Value {
    let args: Vec<String> = shell_words(line);
    let command = operator::parse(&args).unwrap_or_else(|e| panic!("{line}: {e}"));
    op.run(command)
        .await
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Splits on spaces, keeping "quoted words" together.
fn shell_words(line: &str) -> Vec<String> {
    line.split('"')
        .enumerate()
        .flat_map(|(i, part)| {
            if i % 2 == 1 {
                vec![part.to_owned()]
            } else {
                part.split_whitespace().map(str::to_owned).collect()
            }
        })
        .collect()
}

/// Waits until `privacy-requests` has erased the account.
async fn wait_gone(t: &TestStack, account: &str) {
    t.wait_account_gone(account).await
}

/// The audit log's records, as text.
async fn audit(t: &TestStack) -> String {
    t.table_text("AuditTable").await
}

#[tokio::test(flavor = "multi_thread")]
async fn r06_r20_an_operator_deletes_a_childs_account_by_email_and_it_is_audited() {
    let t = TestStack::start().await;
    let email = unique_email("child");
    let (token, account) = t.signed_in(&email).await;
    let op = operator(&t).await;
    let found = run(&op, &format!("find-account {email}")).await;
    assert_eq!(found["id"], account);
    let out = run(
        &op,
        &format!(r#"delete-child {email} --by ops@sora2ai.info --reason "reported as under 13 (ticket 42)""#),
    )
    .await;
    assert!(out["erasure_request"].is_string(), "{out}");
    t.get("/v1/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");
    // The erasure runs; then nothing of the child is left, and the action is logged.
    wait_gone(&t, &account).await;
    let log = audit(&t).await;
    assert!(
        log.contains("delete_child_account")
            && log.contains("ops@sora2ai.info")
            && log.contains("ticket 42"),
        "{log}"
    );
    assert!(
        !log.contains(&account),
        "the audit record is pseudonymised with the rest"
    );
    assert!(!t.table_text("AccountsTable").await.contains(&email));
}

#[tokio::test(flavor = "multi_thread")]
async fn r20_suspend_reinstate_terminate_and_remove_content_are_audited() {
    let t = TestStack::start().await;
    let email = unique_email("abuse");
    let (token, account) = t.signed_in(&email).await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "a kite over a hill", "seconds": 4 }),
            None,
        )
        .await;
    let video = v.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &video, "ready", 30).await;
    let op = operator(&t).await;

    let r = run(
        &op,
        &format!(r#"remove-video {video} --by alice --reason "copyright notice""#),
    )
    .await;
    assert_eq!(r["removed"], true);
    assert_eq!(
        t.get(&format!("/v1/videos/{video}"), Some(&token))
            .await
            .status,
        404
    );
    assert!(
        !t.object_exists("OutputsBucket", &format!("videos/{video}.mp4"))
            .await
    );

    let r = run(
        &op,
        &format!(r#"suspend {account} --by bob --reason "spam""#),
    )
    .await;
    assert_eq!(r["suspended"], true);
    t.get("/v1/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    t.verify(&email, &code, None)
        .await
        .assert_problem(403, "account_suspended");
    let r = run(
        &op,
        &format!(r#"reinstate {account} --by carol --reason "appeal accepted""#),
    )
    .await;
    assert_eq!(r["reinstated"], true);
    let (token, _) = t.signed_in(&email).await;
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    let log = audit(&t).await;
    for expected in [
        "remove_video",
        "copyright notice",
        "suspend",
        "bob",
        "spam",
        "reinstate",
        "carol",
        "appeal accepted",
    ] {
        assert!(
            log.contains(expected),
            "{expected} not in the audit log:\n{log}"
        );
    }

    // Termination erases the account and keeps only a keyed hash of the address, so
    // the same address cannot sign up again (R28).
    run(
        &op,
        &format!(r#"terminate {account} --by dave --reason "fraud""#),
    )
    .await;
    wait_gone(&t, &account).await;
    assert_eq!(t.start_email(&email).await.status, 202);
    let code = t.latest_code(&email).await;
    t.verify(&email, &code, Some(true))
        .await
        .assert_problem(403, "account_blocked");
    let accounts = t.table_text("AccountsTable").await;
    assert!(!accounts.contains(&email) && accounts.contains("blocked#"));
    assert!(audit(&t).await.contains("fraud"));
}

#[tokio::test(flavor = "multi_thread")]
async fn r30_operators_list_requests_near_or_past_their_due_date() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let email = unique_email("due");
    let (token, account) = t.signed_in(&email).await;
    assert_eq!(
        t.post("/v1/me/verification", json!({}), Some(&token))
            .await
            .status,
        202
    );
    let code = t.latest_code(&email).await;
    let r = t
        .post("/v1/me/export", json!({ "code": code }), Some(&token))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let op = operator(&t).await;
    let soon = run(&op, "due-requests --within-days 7").await;
    assert!(
        !soon.to_string().contains(&id),
        "due in a month, not within a week"
    );
    let month = run(&op, "due-requests --within-days 31").await;
    let listed = month
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .expect("listed");
    assert_eq!(listed["account_id"], account);
    assert_eq!(listed["overdue"], false);
    // Past its date (a calendar month is 31 days at most), it is overdue.
    t.clock.advance(std::time::Duration::from_secs(32 * 86400));
    let late = run(&op, "due-requests").await;
    let listed = late
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .expect("listed");
    assert_eq!(listed["overdue"], true);
}

#[test]
fn r20_every_action_needs_who_and_why() {
    let err = operator::parse(&shell_words("suspend acc_1 --reason spam")).unwrap_err();
    assert!(err.contains("--by"), "{err}");
    assert!(operator::parse(&shell_words("suspend acc_1 --by x")).is_err());
    assert!(operator::parse(&shell_words("explode")).is_err());
    assert_eq!(
        operator::parse(&shell_words("due-requests")).unwrap(),
        operator::Command::DueRequests { within_days: 7 }
    );
}

/// R20, R16, R11: an operator's removal of a video still being made does what its
/// owner's `DELETE` does — the provider's request is stopped and its copy dropped, the
/// cost given back once — and is audited.
#[tokio::test(flavor = "multi_thread")]
async fn r20_r16_removing_a_video_still_being_made_stops_the_provider_and_refunds_once() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (token, account) = t.signed_in(&unique_email("op-early")).await;
    let id = t.generating_video(&token).await;
    assert_eq!(t.balance(&account).await, 2);
    let op = operator(&t).await;
    let line = format!(r#"remove-video {id} --by dana --reason "reported""#);
    assert_eq!(run(&op, &line).await["removed"], true);
    assert_eq!(t.balance(&account).await, 3);
    // Again: nothing more happens.
    assert_eq!(run(&op, &line).await["removed"], true);
    t.pump("generate").await;
    assert_eq!(t.entries_for(&account, "refund", &id).await, 1);
    assert_eq!(t.balance(&account).await, 3);
    let request = &t.stack.fal.requests()[0];
    assert!(
        request.cancelled && request.payload_deleted,
        "the provider was stopped and its copy dropped"
    );
    assert!(audit(&t).await.contains("reported"));
}
