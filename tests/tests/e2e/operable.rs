//! A promise that stops being kept is seen (R48): the functions count what they do as
//! CloudWatch embedded metrics (read back by `GET /_local/metrics` from the very
//! lines), the template alarms on them and on the platform's own metrics, every alarm
//! names its runbook section, and the operators' topic can be published to by the
//! services that raise alarms and budget notices.

use std::collections::BTreeSet;

use e2e_tests::local_stack::template::Value as Yaml;
use e2e_tests::{TestStack, template_yaml, unique_email, workspace_root};
use serde_json::{Value, json};
use shared::adapters::metrics::{Metric, NAMESPACE};

async fn metrics(t: &TestStack) -> Vec<Value> {
    let r = t.get("/_local/metrics", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn named<'a>(items: &'a [Value], name: &str) -> Vec<&'a Value> {
    items.iter().filter(|m| m["name"] == name).collect()
}

/// No metric names a person: its dimensions are model, provider or outcome, and no
/// value is an id, an address or words of a prompt.
fn assert_nothing_personal(items: &[Value], words: &[&str]) {
    for m in items {
        assert_eq!(m["namespace"], NAMESPACE, "{m}");
        for (k, v) in m["dimensions"].as_object().unwrap() {
            assert!(
                ["model", "provider", "outcome"].contains(&k.as_str()),
                "{m}"
            );
            let v = v.as_str().unwrap();
            for bad in ["acc_", "vid_", "ref_", "apl_", "upl_", "@"]
                .iter()
                .chain(words)
            {
                assert!(!v.contains(bad), "{bad} in {m}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r48_a_videos_life_and_a_refusal_are_counted_with_nothing_personal() {
    let t = TestStack::start().await;
    let email = unique_email("metrics");
    let (token, _) = t.signed_in(&email).await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "a lighthouse at night", "seconds": 4 }),
            None,
        )
        .await;
    let id = v.body["id"].as_str().unwrap().to_owned();
    let ready = t.wait_status(&token, &id, "ready", 30).await;
    let model = ready["model"].as_str().unwrap().to_owned();
    t.submit_video(
        &token,
        json!({ "prompt": "a storm moderation-deny", "seconds": 4 }),
        None,
    )
    .await
    .assert_problem(422, "prompt_rejected");

    let items = metrics(&t).await;
    let submitted = named(&items, "VideosSubmitted");
    assert_eq!(submitted.len(), 1, "{items:?}");
    assert_eq!(submitted[0]["dimensions"], json!({ "model": model }));
    assert_eq!(submitted[0]["unit"], "Count");
    let ready_count = named(&items, "VideosReady");
    assert_eq!(
        ready_count[0]["dimensions"],
        json!({ "model": model, "provider": "fal" })
    );
    let waited = named(&items, "TimeToReady");
    assert_eq!(waited[0]["unit"], "Seconds");
    let seconds = waited[0]["value"].as_f64().unwrap();
    assert!((0.0..60.0).contains(&seconds), "{seconds}");
    assert_eq!(named(&items, "StampingTime")[0]["unit"], "Milliseconds");
    let refused = named(&items, "ContentRefusals");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["dimensions"], json!({ "outcome": "prompt" }));
    assert_nothing_personal(&items, &["lighthouse", "storm", &email]);
}

#[tokio::test(flavor = "multi_thread")]
async fn r48_a_failover_a_refund_and_the_circuits_are_counted() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("failover")).await;
    t.outage("fal", "down").await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "a harbour at dawn", "seconds": 4 }),
            None,
        )
        .await;
    let id = v.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "ready", 60).await;
    let items = metrics(&t).await;
    let moved = named(&items, "Failovers");
    assert!(!moved.is_empty(), "{items:?}");
    assert_eq!(moved[0]["dimensions"]["provider"], "fal");
    assert_eq!(
        named(&items, "VideosReady")[0]["dimensions"]["provider"],
        "replicate"
    );
    // A sweep round reads each provider's circuit for the gauge, and beats.
    t.stack.functions.run_round("sweep").await.unwrap().unwrap();
    let items = metrics(&t).await;
    let gauges: Vec<(String, f64)> = named(&items, "CircuitOpen")
        .iter()
        .map(|m| {
            (
                m["dimensions"]["provider"].as_str().unwrap().to_owned(),
                m["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(gauges.contains(&("replicate".into(), 0.0)), "{gauges:?}");
    assert_eq!(named(&items, "SweepRound").len(), 1);
    if gauges.contains(&("fal".into(), 1.0)) {
        assert!(!named(&items, "CircuitOpened").is_empty());
    }
    // A video that is not made is refunded, and counted so.
    t.outage("replicate", "down").await;
    let v = t
        .submit_video(
            &token,
            json!({ "prompt": "emulator-fail once more", "seconds": 4 }),
            None,
        )
        .await;
    let id = v.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &id, "failed", 60).await;
    let items = metrics(&t).await;
    assert!(!named(&items, "VideosFailed").is_empty(), "{items:?}");
    assert!(!named(&items, "Refunds").is_empty());
    assert_nothing_personal(&items, &["harbour"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn r48_a_purge_round_beats() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let r = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = metrics(&t).await;
    let beats = named(&items, "PurgeRound");
    assert_eq!(beats.len(), 1, "{items:?}");
    assert_eq!(beats[0]["value"], 1.0);
    assert_eq!(beats[0]["dimensions"], json!({}));
}

fn resources() -> Vec<(String, Yaml)> {
    let yaml = template_yaml();
    yaml["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

fn alarms() -> Vec<(String, Yaml)> {
    resources()
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .collect()
}

/// The runbook's sections, by their anchors (`## name`).
fn sections() -> BTreeSet<String> {
    std::fs::read_to_string(workspace_root().join("docs/runbooks.md"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|s| s.trim().to_owned())
        .collect()
}

#[test]
fn r48_every_alarm_names_its_runbook_section_and_every_section_has_its_alarm() {
    let sections = sections();
    let mut named_by_alarms = BTreeSet::new();
    for (id, alarm) in alarms() {
        let description = alarm["Properties"]["AlarmDescription"]
            .as_str()
            .unwrap_or_default();
        let section = description
            .split("Runbook: docs/runbooks.md#")
            .nth(1)
            .unwrap_or_else(|| panic!("{id}: no runbook in its description"));
        assert!(sections.contains(section), "{id}: no section {section}");
        named_by_alarms.insert(section.to_owned());
        // Every alarm reaches the operators, and says when it is over.
        assert_eq!(
            e2e_tests::local_stack::template::yaml_text(&alarm["Properties"]["AlarmActions"])
                .trim(),
            "- !Ref OperatorAlarmsTopic",
            "{id}"
        );
    }
    // The budget's notices are not alarms: they go to the same topic, with this section.
    let budget = resources()
        .into_iter()
        .find(|(_, r)| r["Type"].as_str() == Some("AWS::Budgets::Budget"))
        .expect("a monthly budget");
    assert!(e2e_tests::local_stack::template::yaml_text(&budget.1).contains("OperatorAlarmsTopic"));
    named_by_alarms.insert("budget".into());
    assert_eq!(
        named_by_alarms, sections,
        "sections without an alarm, or the reverse"
    );
}

#[test]
fn r48_the_alarms_and_the_dashboard_use_exactly_the_metrics_the_code_emits() {
    let emitted: BTreeSet<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    let mut used = BTreeSet::new();
    for (id, alarm) in alarms() {
        if alarm["Properties"]["Namespace"].as_str() == Some(NAMESPACE) {
            let name = alarm["Properties"]["MetricName"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                emitted.contains(name.as_str()),
                "{id}: {name} is never emitted"
            );
            used.insert(name);
        }
    }
    let dashboard = resources()
        .into_iter()
        .find(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Dashboard"))
        .expect("an operations dashboard");
    let body =
        e2e_tests::local_stack::template::yaml_text(&dashboard.1["Properties"]["DashboardBody"]);
    // Its body is JSON once CloudFormation has substituted the names.
    let body = body.trim().trim_start_matches("!Sub |").trim();
    let parsed: Value = serde_json::from_str(body).expect("the dashboard's body is JSON");
    for widget in parsed["widgets"].as_array().unwrap() {
        for line in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let parts = line.as_array().unwrap();
            if parts.first().and_then(Value::as_str) == Some(NAMESPACE) {
                let name = parts[1].as_str().unwrap();
                assert!(
                    emitted.contains(name),
                    "the dashboard shows {name}, never emitted"
                );
                used.insert(name.to_owned());
            }
            if let Some(expression) = parts.first().and_then(|p| p["expression"].as_str())
                && expression.contains(&format!("{{{NAMESPACE},"))
            {
                let name = expression
                    .split("MetricName=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap();
                assert!(
                    emitted.contains(name),
                    "the dashboard searches {name}, never emitted"
                );
                used.insert(name.to_owned());
            }
        }
    }
    let unseen: Vec<&&str> = emitted.iter().filter(|m| !used.contains(**m)).collect();
    assert!(
        unseen.is_empty(),
        "emitted but on no alarm or dashboard: {unseen:?}"
    );
}

#[test]
fn r48_the_operators_topic_is_encrypted_with_a_key_the_alarms_and_budgets_may_use() {
    let yaml = template_yaml();
    let topic = &yaml["Resources"]["OperatorAlarmsTopic"]["Properties"];
    let key_ref = e2e_tests::local_stack::template::yaml_text(&topic["KmsMasterKeyId"]);
    assert!(
        !key_ref.contains("alias/aws/sns"),
        "the AWS managed key cannot be used by CloudWatch or Budgets"
    );
    let key_id = key_ref.trim().trim_start_matches("!Ref").trim();
    let key = &yaml["Resources"][key_id];
    assert_eq!(key["Type"].as_str(), Some("AWS::KMS::Key"));
    let statements = key["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .unwrap();
    let services = statements
        .iter()
        .find(|s| !s["Principal"]["Service"].is_null())
        .expect("a statement for the publishing services");
    let text = e2e_tests::local_stack::template::yaml_text(services);
    for needed in [
        "cloudwatch.amazonaws.com",
        "budgets.amazonaws.com",
        "kms:Decrypt",
        "kms:GenerateDataKey*",
        "aws:SourceAccount",
    ] {
        assert!(text.contains(needed), "{needed}: {text}");
    }
    // Nobody gets kms:* on it.
    assert!(!e2e_tests::local_stack::template::yaml_text(&key["Properties"]).contains("kms:*"));
    // And the topic's policy lets the same services publish.
    let policy = yaml["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Type"].as_str() == Some("AWS::SNS::TopicPolicy"))
        .expect("a topic policy");
    let text = e2e_tests::local_stack::template::yaml_text(policy);
    assert!(text.contains("sns:Publish") && text.contains("budgets.amazonaws.com"));
}
