//! The service on a hard day: 10 % of the functions' AWS requests fail (throttling,
//! 500s, dropped connections, with latency and transaction conflicts), every queue
//! message is delivered twice in shuffled batches, and a patient client retries what
//! it is told to retry, fal is down while the videos are submitted, so they fail
//! over to Replicate (R43), and the sweep runs as its schedule does. R05, R11, R13,
//! R15, R16, R43: every video ends, every account's ledger adds up, each failed or
//! deleted video is refunded once, each ready video is announced once, and no
//! request is ever answered 500.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e_tests::local_stack::faults::FaultSettings;
use e2e_tests::{TestStack, unique_email};
use serde_json::json;

const ACCOUNTS: usize = 4;
const VIDEOS_PER_ACCOUNT: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Succeeds,
    FailsAtTheProvider,
    DeletedMidWay,
}

fn plan(i: usize) -> Plan {
    match i % 4 {
        1 => Plan::FailsAtTheProvider,
        3 => Plan::DeletedMidWay,
        _ => Plan::Succeeds,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r11_r13_r15_r43_twenty_videos_through_faults_duplicates_and_failover_all_end_and_add_up() {
    let started = Instant::now();
    let mut t = TestStack::start_opts(|o| {
        o.faults = Some(FaultSettings {
            rate: 0.10,
            seed: 2026,
            max_latency: Duration::from_millis(15),
            ..Default::default()
        });
        o.duplicate_deliveries = true;
        o.consumer_visibility = Some(2);
        o.fal_duration = Duration::from_millis(800);
        // Short, so that a claim whose holder failed is taken over within the test; longer
        // than an attempt that retries through the faults takes, so that a slow holder is
        // not taken over (which would send twice).
        o.policy.notice_lease = Duration::from_secs(8);
        // The sweep runs during the test, as its schedule does: a submission whose
        // message could not be sent is queued by it.
        o.policy.requeue_after = Duration::from_secs(10);
    })
    .await;
    t.retry_unavailable = true;
    let t = t;

    let mut accounts = Vec::new();
    for a in 0..ACCOUNTS {
        let email = unique_email(&format!("chaos{a}"));
        let (token, id) = t.signed_in(&email).await;
        t.grant(&id, 10).await;
        accounts.push((email, token, id));
    }

    // fal is down while they are submitted: they go to Replicate (R43).
    let down = t
        .post(
            "/_local/providers/fal/outage",
            json!({ "mode": "down" }),
            None,
        )
        .await;
    assert_eq!(down.status, 200, "{}", down.body);

    // Twenty submissions at once, each with its own key so the client may retry it.
    let keys: Vec<String> = (0..ACCOUNTS * VIDEOS_PER_ACCOUNT)
        .map(|i| format!("chaos-{i}"))
        .collect();
    let submissions = keys.iter().enumerate().map(|(i, key)| {
        let (_, token, _) = &accounts[i % ACCOUNTS];
        let prompt = match plan(i) {
            Plan::FailsAtTheProvider => format!("scene {i}, emulator-fail"),
            _ => format!("scene {i}, a quiet street"),
        };
        t.submit_video(token, json!({ "prompt": prompt, "seconds": 4 }), Some(key))
    });
    let replies = futures_util::future::join_all(submissions).await;
    let mut jobs = Vec::new();
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.status, 202, "submission {i}: {}", r.body);
        jobs.push((i, r.body["id"].as_str().unwrap().to_owned()));
    }

    // Some are deleted while they are being made.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let up = t
        .post(
            "/_local/providers/fal/outage",
            json!({ "mode": "up" }),
            None,
        )
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    for (i, id) in &jobs {
        if plan(*i) == Plan::DeletedMidWay {
            let (_, token, _) = &accounts[i % ACCOUNTS];
            let r = t.delete(&format!("/v1/videos/{id}"), Some(token)).await;
            assert_eq!(r.status, 204, "delete {id}: {}", r.body);
        }
    }

    // Every job reaches a final state.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut swept = Instant::now();
    let finals = loop {
        if swept.elapsed() >= Duration::from_secs(3) {
            // A round that meets a fault fails, and the schedule runs the next.
            let _ = t.http.post(t.url("/_local/sweep")).send().await;
            swept = Instant::now();
        }
        let mut states = BTreeMap::new();
        for (i, id) in &jobs {
            states.insert((*i, id.clone()), t.stored_job(id).await.status);
        }
        if states.values().all(|s| !s.is_active()) {
            break states;
        }
        if Instant::now() >= deadline {
            // Where each stuck job's files are, and what the queues hold, to say why.
            let mut stuck = Vec::new();
            for ((i, id), s) in states.iter().filter(|(_, s)| s.is_active()) {
                let staged = t
                    .object_exists("OutputsBucket", &shared::domain::video::staging_key(id))
                    .await;
                let output = t
                    .object_exists("OutputsBucket", &shared::domain::video::output_key(id))
                    .await;
                // Its predictions at Replicate, with the status of each webhook call.
                let prompt = format!("scene {i}, ");
                let calls: Vec<String> = t
                    .stack
                    .replicate
                    .predictions()
                    .iter()
                    .filter(|p| {
                        p.input["prompt"]
                            .as_str()
                            .is_some_and(|x| x.starts_with(&prompt))
                    })
                    .map(|p| format!("{} calls={:?}", p.id, p.calls))
                    .collect();
                stuck.push(format!(
                    "{i} {id} {s:?} staged={staged} output={output} replicate={calls:?} job={:?}",
                    t.stored_job(id).await
                ));
            }
            let mut queues = Vec::new();
            for q in [
                "GenerateQueue",
                "GenerateDeadLetterQueue",
                "StampDeadLetterQueue",
                "DeliverDeadLetterQueue",
            ] {
                queues.push(format!("{q}={:?}", t.queue_counts(q).await));
            }
            panic!("still active: {stuck:?}; {queues:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    // Failover happened, and no job went to a provider twice.
    let mut by_replicate = 0;
    for (i, id) in &jobs {
        let job = t.stored_job(id).await;
        let mut tried = job.tried.clone();
        tried.sort();
        tried.dedup();
        assert_eq!(tried.len(), job.tried.len(), "{i} {id}: {:?}", job.tried);
        by_replicate += usize::from(job.provider.as_deref() == Some("replicate"));
    }
    assert!(by_replicate > 0, "no job failed over to Replicate");

    let mut tally = BTreeMap::new();
    for ((i, id), status) in &finals {
        let status = status.as_str();
        *tally.entry(status).or_insert(0) += 1;
        let (_, _, account) = &accounts[i % ACCOUNTS];
        let refunds = t.entries_for(account, "refund", id).await;
        let debits = t.entries_for(account, "debit", id).await;
        assert_eq!(debits, 1, "{id}: charged once");
        match plan(*i) {
            Plan::Succeeds => {
                if status != "ready" {
                    // What the functions said about it, to tell why.
                    let said: Vec<String> = e2e_tests::captured_logs()
                        .lines()
                        .filter(|l| l.contains(id.as_str()))
                        .map(str::to_owned)
                        .collect();
                    panic!(
                        "{id} ended {status}: {:?}\n{}",
                        t.stored_job(id).await,
                        said.join("\n")
                    );
                }
                assert_eq!(refunds, 0, "{id}");
            }
            Plan::FailsAtTheProvider => {
                assert!(["failed", "rejected"].contains(&status), "{id}: {status}");
                assert_eq!(refunds, 1, "{id}: refunded once");
            }
            Plan::DeletedMidWay => {
                assert_eq!(status, "deleted", "{id}");
                let ended_before_ready = t.stored_job(id).await.completed_at.is_none();
                assert_eq!(refunds, usize::from(ended_before_ready), "{id}");
            }
        }
    }
    // One notice per video whose notice was sent, and one for every video that was never
    // deleted. (A video deleted in the moment it became ready, before its notice went
    // out, gets none: "your video is ready" about a deleted video would be wrong.)
    for (a, (email, _, _)) in accounts.iter().enumerate() {
        let ids: Vec<(usize, String)> = finals
            .keys()
            .filter(|(i, _)| i % ACCOUNTS == a)
            .cloned()
            .collect();
        let count = || async {
            t.emails_to(email)
                .await
                .iter()
                .filter(|m| m["subject"].as_str().unwrap_or_default().contains("ready"))
                .count()
        };
        let notified = || async {
            let mut n = 0;
            for (_, id) in &ids {
                n += usize::from(t.stored_job(id).await.notified);
            }
            n
        };
        let must = ids
            .iter()
            .filter(|(i, _)| plan(*i) == Plan::Succeeds)
            .count();
        // The last notices may still be on their way (a retried message comes back
        // after the consumers' visibility timeout, a claim after its lease): wait for
        // them, then check none more.
        let wait_until = Instant::now() + Duration::from_secs(30);
        while (notified().await < must || count().await < notified().await)
            && Instant::now() < wait_until
        {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        for (i, id) in &ids {
            if plan(*i) == Plan::Succeeds {
                assert!(t.stored_job(id).await.notified, "{id}: its owner was told");
            }
        }
        assert_eq!(
            count().await,
            notified().await,
            "account {a}: one notice per notified video"
        );
    }
    // Every account's entries add up to its balance.
    for (_, _, account) in &accounts {
        let sum: i64 = t.ledger(account).await.iter().map(|e| e.amount).sum();
        assert_eq!(sum, t.balance(account).await, "{account}");
    }
    let statuses = t.statuses.lock().unwrap().clone();
    assert!(!statuses.contains(&500), "no request answered 500");
    let unavailable = statuses.iter().filter(|s| **s == 503).count();
    let (requests, injected, conflicts) = t.stack.faults.as_ref().unwrap().counts.snapshot();
    println!(
        "chaos: {} videos {tally:?}; AWS requests of the functions {requests}, faults injected \
         {injected}, transaction conflicts {conflicts}; 503 answers retried by the client \
         {unavailable}; {:.1} s",
        jobs.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(injected > 0);
}
