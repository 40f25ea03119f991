//! The local AWS endpoint's zygote (`local/moto_server.py zygote`), which the test run
//! forks every end-to-end test's endpoint from: each fork starts empty (though warmed)
//! and apart from the others, and ends when the process that asked for it lets go.

use std::process::Stdio;
use std::time::{Duration, Instant};

use local_stack::moto::{self, Moto};
use local_stack::raw_aws::RawAws;
use local_stack::stack::LOCAL_REGION;

async fn tables(endpoint: &str) -> Vec<String> {
    RawAws::load_local(LOCAL_REGION, endpoint)
        .await
        .dynamodb()
        .list_tables()
        .send()
        .await
        .expect("the endpoint answers")
        .table_names
        .unwrap_or_default()
}

async fn answers(endpoint: &str) -> bool {
    reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// What the endpoint holds, as `service.Model` of each kind of record it has any of;
/// moto's own constants aside (S3's predefined grantees, IAM's account summary), which
/// it makes with a service's backend.
async fn held(endpoint: &str) -> Vec<String> {
    let state: serde_json::Value = local_stack::http_client()
        .get(format!("{endpoint}/moto-api/data.json"))
        .send()
        .await
        .expect("the endpoint answers")
        .json()
        .await
        .expect("moto's state as JSON");
    let mut held = Vec::new();
    for (service, models) in state.as_object().into_iter().flatten() {
        for (model, records) in models.as_object().into_iter().flatten() {
            let constant = matches!(
                (service.as_str(), model.as_str()),
                ("s3", "FakeGrantee") | ("iam", "AccountSummary")
            );
            if !constant && records.as_array().is_some_and(|r| !r.is_empty()) {
                held.push(format!("{service}.{model}"));
            }
        }
    }
    held
}

#[tokio::test(flavor = "multi_thread")]
async fn forked_endpoints_start_empty_stay_apart_and_end_with_their_holder() {
    let python = moto::python().await.expect("python tools");
    let dir = std::env::temp_dir().join(format!("moto-zygote-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("moto.sock");
    let socket_path = socket.to_str().unwrap().to_owned();
    let mut zygote = tokio::process::Command::new(python)
        .arg(moto::workspace_root().join("local/moto_server.py"))
        .args(["zygote", &socket_path])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut ready = String::new();
    use tokio::io::AsyncBufReadExt;
    tokio::io::BufReader::new(zygote.stdout.take().unwrap())
        .read_line(&mut ready)
        .await
        .unwrap();
    assert_eq!(ready.trim(), "ready");

    let first = Moto::from_zygote(&socket_path, 0).await.unwrap();
    let second = Moto::from_zygote(&socket_path, 0).await.unwrap();
    assert_ne!(first.endpoint, second.endpoint);
    // The zygote warmed every service the stack uses (a read or a refused request
    // each) before forking: nothing of it is left.
    assert_eq!(held(&first.endpoint).await, Vec::<String>::new());
    let dynamodb = RawAws::load_local(LOCAL_REGION, &first.endpoint)
        .await
        .dynamodb()
        .clone();
    dynamodb
        .create_table()
        .table_name("only-in-the-first")
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    assert_eq!(tables(&first.endpoint).await, ["only-in-the-first"]);
    assert_eq!(held(&first.endpoint).await, ["dynamodb.Table"]);
    assert!(
        tables(&second.endpoint).await.is_empty(),
        "forks share no state"
    );

    // Letting go of an endpoint ends it; the other lives on.
    let gone = first.endpoint.clone();
    drop(first);
    let since = Instant::now();
    while answers(&gone).await {
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "the endpoint outlived its holder"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answers(&second.endpoint).await);

    // The zygote ends when its standard input closes, and takes its socket with it.
    drop(zygote.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(10), zygote.wait())
        .await
        .expect("the zygote ends")
        .unwrap();
    assert!(status.success());
    assert!(!socket.exists());
    // With no zygote, an endpoint cannot be had from it: `Moto::start` then starts one.
    assert!(Moto::from_zygote(&socket_path, 0).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
