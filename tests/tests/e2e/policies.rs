//! R35: least privilege, checked against what the code does. Every test's local stack
//! records each function's AWS calls (action and resource, presigned links included),
//! and the run gathers them (`e2e_tests::calls`); then each function's IAM policy in
//! the template must allow every call it made anywhere in the run, and name no action
//! it never made. `make test` runs this test after all the others.

use std::collections::{BTreeMap, BTreeSet};

use e2e_tests::TestStack;
use e2e_tests::local_stack::template::{Value, yaml_text};

/// A statement of a function's policy: its actions, and the resources as patterns over
/// the recorded ones (`table/NAME`, `bucket/NAME/` prefixes, …).
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
}

fn matches(pattern: &str, resource: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => resource.starts_with(prefix),
        None => pattern == resource,
    }
}

/// Each function's statements (by binary name), with the template's references made
/// local names.
fn policies(t: &TestStack) -> BTreeMap<String, Vec<Statement>> {
    let yaml: Value = e2e_tests::template_yaml();
    let refs = &t.stack.refs.refs;
    let local = |logical: &str| -> String {
        let r = refs.get(logical).cloned().unwrap_or_default();
        // A queue's ref is its URL; the recorded resource is its name.
        r.rsplit('/').next().unwrap_or_default().to_owned()
    };
    let kind = |logical: &str| -> String {
        yaml["Resources"][logical]["Type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let mail_from = &t.stack.envs["auth"]["MAIL_FROM"];
    let mut out = BTreeMap::new();
    for (_, r) in yaml["Resources"].as_mapping().unwrap() {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let env = &t.stack.envs[&binary];
        let mut statements = Vec::new();
        for policy in r["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for st in policy["Statement"].as_sequence().into_iter().flatten() {
                let seq = |v: &Value| -> Vec<Value> {
                    match v {
                        Value::Sequence(s) => s.clone(),
                        other => vec![other.clone()],
                    }
                };
                let actions = seq(&st["Action"])
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect();
                let resources = seq(&st["Resource"])
                    .iter()
                    .map(|res| {
                        let text = yaml_text(res);
                        let text = text.trim();
                        // An action without a resource type (R45's Rekognition calls,
                        // recorded on `*`).
                        if text == "'*'" || text == "*" || text == "\"*\"" {
                            return "*".to_owned();
                        }
                        if let Some(rest) = text.strip_prefix("!GetAtt ") {
                            let logical = rest.trim_end_matches(".Arn");
                            return match kind(logical).as_str() {
                                "AWS::DynamoDB::Table" => format!("table/{}", local(logical)),
                                "AWS::SQS::Queue" => format!("queue/{}", local(logical)),
                                "AWS::KMS::Key" => format!("key/{}", local(logical)),
                                _ => format!("bucket/{}", local(logical)),
                            };
                        }
                        let sub = text.trim_start_matches("!Sub ").trim_matches(['"', '\'']);
                        if let Some((logical, tail)) =
                            sub.strip_prefix("${").and_then(|s| s.split_once(".Arn}"))
                        {
                            return match kind(logical).as_str() {
                                "AWS::DynamoDB::Table" => format!("table/{}{tail}", local(logical)),
                                _ => format!("bucket/{}{tail}", local(logical)),
                            };
                        }
                        if sub.contains(":identity/${MailFrom}") {
                            return format!("identity/{mail_from}");
                        }
                        if let Some(param) = sub.split(":parameter").nth(1) {
                            let name = param.trim_start_matches("${").trim_end_matches('}');
                            let var = env
                                .iter()
                                .find(|(k, v)| {
                                    k.ends_with("_PARAMETER")
                                        && refs.get(name).is_some_and(|r| r == *v)
                                })
                                .map(|(_, v)| v.clone())
                                .unwrap_or_else(|| refs.get(name).cloned().unwrap_or_default());
                            return format!("parameter{var}");
                        }
                        panic!("{binary}: a resource this test cannot read: {text}");
                    })
                    .collect();
                statements.push(Statement {
                    sid: st["Sid"].as_str().unwrap_or_default().to_owned(),
                    actions,
                    resources,
                });
            }
        }
        out.insert(binary, statements);
    }
    out
}

/// Actions a statement grants for a path no test of the run takes, and why.
const NOT_EXERCISED: &[(&str, &str, &str)] = &[
    // Without ListBucket, S3 answers a HEAD of a missing key with 403 instead of 404:
    // it is what lets these functions tell "not there" from "not allowed".
    (
        "generate",
        "s3:ListBucket",
        "HEAD of a missing output answers 404",
    ),
    (
        "videos",
        "s3:ListBucket",
        "HEAD of a missing upload answers 404",
    ),
    (
        "stamp",
        "s3:ListBucket",
        "HEAD of a missing output answers 404",
    ),
    // A 50 MB output goes up in parts; one that fails half way is aborted (the same
    // upload as generate's, streamed from its scratch file).
    (
        "stamp",
        "s3:AbortMultipartUpload",
        "videos_costs::generate_streams_a_50_mb_output_without_holding_it_in_memory",
    ),
    // A multipart upload that breaks half way is aborted: generate_step's tests.
    (
        "generate",
        "s3:AbortMultipartUpload",
        "generate_step::r13_a_download_that_breaks_half_way",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn r35_each_functions_policy_allows_exactly_the_calls_its_code_makes() {
    // A stack of its own for the names the gathered calls are read back in.
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let (stacks, calls) = e2e_tests::calls::gathered(&t.stack).unwrap_or_else(|| {
        panic!(
            "this test reads the calls of the whole run: `make test` runs it after the \
             others, with {} set",
            e2e_tests::calls::DIR_VAR
        )
    });
    // Every end-to-end test's stack (about two hundred) left its calls.
    assert!(stacks >= 100, "the calls of {stacks} stacks only");
    let policies = policies(&t);
    let mut problems = Vec::new();
    for (function, statements) in &policies {
        let made: BTreeSet<_> = calls.get(function).cloned().unwrap_or_default();
        for (action, resource) in &made {
            let allowed = statements.iter().any(|s| {
                s.actions.iter().any(|a| a == action)
                    && s.resources.iter().any(|p| matches(p, resource))
            });
            if !allowed {
                problems.push(format!(
                    "{function}: calls {action} on {resource}, not allowed"
                ));
            }
        }
        for s in statements {
            for action in &s.actions {
                let used = made
                    .iter()
                    .any(|(a, r)| a == action && s.resources.iter().any(|p| matches(p, r)));
                let excused = NOT_EXERCISED
                    .iter()
                    .any(|(f, a, _)| f == function && a == action);
                if !used && !excused {
                    problems.push(format!(
                        "{function}: statement {} grants {action}, never called",
                        s.sid
                    ));
                }
            }
        }
    }
    // An excuse the run has outgrown goes: its action is called now.
    for (function, action, why) in NOT_EXERCISED {
        let called = calls
            .get(*function)
            .is_some_and(|made| made.iter().any(|(a, _)| a == action));
        if called {
            problems.push(format!(
                "{function}: {action} is called now; its excuse ({why}) can go"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
