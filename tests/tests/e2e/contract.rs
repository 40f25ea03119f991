//! The API contract: the OpenAPI document is generated from the code, checked in as
//! `infra/openapi.yaml`, matches the template's routes, and schemathesis — every check,
//! every phase, signed in — finds nothing the API does that the document does not say.

use std::collections::BTreeSet;

use e2e_tests::TestStack;
use e2e_tests::local_stack::functions::{self, Kind};
use e2e_tests::local_stack::openapi;
use e2e_tests::local_stack::template::{Value, parse_yaml};
use e2e_tests::workspace_root as root;

#[test]
fn r38_the_checked_in_openapi_document_is_the_generated_one() {
    let checked_in = std::fs::read_to_string(root().join("infra/openapi.yaml")).unwrap();
    assert!(
        checked_in == openapi::yaml(),
        "infra/openapi.yaml is stale: cargo run -p local-stack -- openapi > infra/openapi.yaml"
    );
}

/// Generated clients (the website's among them) name each call by its operationId: two
/// operations with one id make a client call the wrong route.
#[test]
fn r44_every_operation_id_is_unique() {
    let doc = parse_yaml(&openapi::yaml()).unwrap();
    let mut seen = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for (method, op) in item.as_mapping().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| {
                panic!("{method:?} {path:?} has no operationId");
            });
            assert!(seen.insert(id.to_owned()), "operationId {id} is used twice");
        }
    }
}

/// `METHOD /path` of each route the template sends to a function (the one with this
/// binary, or any).
fn template_routes(template: &Value, binary: Option<&str>) -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        let function = &resource["Metadata"]["BuildProperties"]["Binary"];
        if resource["Type"] != "AWS::Serverless::Function" || binary.is_some_and(|b| function != b)
        {
            continue;
        }
        for (_, event) in resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"] == "HttpApi" {
                let p = &event["Properties"];
                routes.insert(format!(
                    "{} {}",
                    p["Method"].as_str().unwrap().to_uppercase(),
                    p["Path"].as_str().unwrap()
                ));
            }
        }
    }
    routes
}

/// Each HTTP function serves exactly the routes the template sends it and its part of
/// the document describes: what it serves is declared apart from the description (so a
/// cold start does not build the description), and this holds the three together.
#[test]
fn r38_each_function_serves_exactly_its_routes_in_the_template_and_the_document() {
    let template: Value = e2e_tests::template_yaml();
    let parts = functions::openapi_parts();
    let mut http_functions = 0;
    for declared in functions::DECLARED {
        let Kind::Http { routes } = declared.kind else {
            assert!(
                template_routes(&template, Some(declared.name)).is_empty(),
                "{}: routed by the template but not declared HTTP",
                declared.name
            );
            continue;
        };
        let binary = declared.name;
        let served: BTreeSet<String> = routes
            .iter()
            .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
            .collect();
        let (_, doc) = parts
            .iter()
            .find(|(name, _)| *name == binary)
            .unwrap_or_else(|| panic!("{binary}: no part of the document"));
        let doc = serde_json::to_value(doc).unwrap();
        let described: BTreeSet<String> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|m| ["get", "put", "post", "delete", "patch"].contains(&m.as_str()))
                    .map(|m| format!("{} {path}", m.to_uppercase()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(served, described, "{binary}: served vs described");
        assert_eq!(
            served,
            template_routes(&template, Some(binary)),
            "{binary}: served vs the template"
        );
        http_functions += 1;
    }
    assert_eq!(parts.len(), http_functions, "a part for each HTTP function");
    // Every function the template routes HTTP to is declared HTTP.
    let with_routes = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| {
            r["Properties"]["Events"]
                .as_mapping()
                .into_iter()
                .flatten()
                .any(|(_, e)| e["Type"] == "HttpApi")
        })
        .count();
    assert_eq!(http_functions, with_routes);
}

/// The template's functions are the declared ones, each triggered as declared: HTTP
/// routes, an SQS queue, or a schedule (a function added to one and not the other, or
/// given another trigger, fails here).
#[test]
fn every_function_of_the_template_is_declared_once_with_its_trigger() {
    let template: Value = e2e_tests::template_yaml();
    let mut in_template = std::collections::BTreeMap::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let triggers: BTreeSet<String> = resource["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(_, e)| e["Type"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            in_template.insert(binary.clone(), triggers).is_none(),
            "{binary} twice in the template"
        );
    }
    let declared: std::collections::BTreeMap<String, BTreeSet<String>> = functions::DECLARED
        .iter()
        .map(|d| {
            let trigger = match d.kind {
                Kind::Http { .. } => "HttpApi",
                Kind::Queue => "SQS",
                Kind::Schedule { .. } => "Schedule",
            };
            (d.name.to_owned(), BTreeSet::from([trigger.to_owned()]))
        })
        .collect();
    assert_eq!(
        declared.len(),
        functions::DECLARED.len(),
        "a name declared twice"
    );
    assert_eq!(in_template, declared, "the template vs the declarations");
}

/// Every operation of the document is routed by the template to a function, and every
/// route of the template is in the document.
#[test]
fn the_templates_routes_are_the_documents_operations() {
    let template: Value = e2e_tests::template_yaml();
    let deployed = template_routes(&template, None);
    let doc: Value = parse_yaml(&openapi::yaml()).unwrap();
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "patch"].contains(&method) {
                described.insert(format!(
                    "{} {}",
                    method.to_uppercase(),
                    path.as_str().unwrap()
                ));
            }
        }
    }
    assert_eq!(deployed, described);
}

/// The limits the document states are the code's own numbers.
#[test]
fn r14_r38_the_documents_limits_are_the_policys() {
    let doc: Value = parse_yaml(&openapi::yaml()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let policy = shared::domain::policy::Policy::default();
    assert_eq!(
        schemas["UploadRequest"]["properties"]["size"]["maximum"].as_u64(),
        Some(policy.upload_max_bytes)
    );
    assert_eq!(
        schemas["SubmitRequest"]["properties"]["prompt"]["maxLength"].as_u64(),
        Some(shared::domain::video::PROMPT_MAX_CHARS as u64)
    );
    // R42: the schema's range holds every length of every model of the catalogue.
    let seconds = &schemas["SubmitRequest"]["properties"]["seconds"];
    let (min, max) = (
        seconds["minimum"].as_u64().unwrap(),
        seconds["maximum"].as_u64().unwrap(),
    );
    let catalogue = shared::domain::models::Catalogue::parse(
        shared::domain::models::SHIPPED,
        &["fal", "replicate"],
    )
    .unwrap();
    for m in catalogue.models() {
        for &s in &m.seconds {
            assert!((min..=max).contains(&u64::from(s)), "{} {s}", m.id);
        }
    }
    assert_eq!(
        schemas["StartRequest"]["properties"]["email"]["pattern"].as_str(),
        Some(shared::domain::email::PATTERN)
    );
}

async fn schemathesis(t: &TestStack, token: &str, signout_token: &str) -> (bool, String) {
    let python = e2e_tests::local_stack::moto::python()
        .await
        .expect("python tools");
    let st = python.with_file_name("st");
    let out = tokio::process::Command::new(st)
        .current_dir(root().join("tests/contract"))
        .arg("run")
        .arg(t.url("/openapi.json"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        // Sign-out ends a session of its own (schemathesis.toml).
        .env("SORA_SIGNOUT_TOKEN", signout_token)
        // A fixed seed, so a run is repeatable; SORA_SCHEMATHESIS_SEED explores others.
        .args([
            "--seed",
            &std::env::var("SORA_SCHEMATHESIS_SEED").unwrap_or("1".into()),
        ])
        .args(["--workers", "1", "--no-color"])
        .args(["--report", "ndjson", "--report-dir"])
        .arg(root().join("target/schemathesis"))
        .output()
        .await
        .expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Kept for a reader of a failed run.
    let _ = std::fs::write(root().join("target/schemathesis-report.txt"), &text);
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn r38_schemathesis_finds_no_failure_on_any_route() {
    // Limits high enough that the fuzzer's hundreds of requests reach the handlers (the
    // limits themselves are proven by their own tests).
    let t = TestStack::start_opts(|o| {
        let many = shared::domain::policy::Limit::per_hour(100_000);
        o.policy.videos_per_account = many;
        o.policy.videos_per_ip = many;
        o.policy.uploads_per_account = many;
        o.policy.codes_per_ip = many;
        o.policy.verifications_per_ip = many;
        o.policy.google_signins_per_ip = many;
    })
    .await;
    let (token, account) = t.signed_in(&e2e_tests::unique_email("contract")).await;
    // Enough credits that a schema-valid video is never refused for want of them.
    t.grant(&account, 100_000).await;
    // Sign-out gets a session of its own, so the one every other route uses lives
    // through the whole run.
    let (signout_token, _) = t.signed_in(&e2e_tests::unique_email("contract-out")).await;
    let (ok, report) = schemathesis(&t, &token, &signout_token).await;
    assert!(ok, "{report}");
    // The stateful phase really ran chains (create a video, read it, delete it, read
    // it again), not only single requests.
    let links = report
        .lines()
        .find(|l| l.contains("API Links:"))
        .unwrap_or_default();
    let covered: u32 = links
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(covered > 0, "no API link covered: {links}\n{report}");
    // Every operation of the document was fuzzed, sign-out too, which ended its own
    // session, not the run's.
    let document = t.get("/openapi.json", None).await.body;
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().keys())
        .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
        .count();
    assert!(
        report.contains(&format!("Tested: {operations}")),
        "{operations} operations: {report}"
    );
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, 200);
    assert_eq!(t.get("/v1/me", Some(&signout_token)).await.status, 401);
}
