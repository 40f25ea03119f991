//! The library: filtered by status and model through indexes of their own, and how
//! long a video still being made will likely take, from its model's recent times.

use e2e_tests::{TestStack, unique_email};
use serde_json::{Value, json};
use shared::domain::clock::from_epoch;
use shared::domain::ids::{AccountId, JobId};
use shared::domain::video::{Job, JobStatus, VideoSettings};

/// Stores a job of `account` made `age` seconds ago, as the steps would have left it.
async fn seed(
    t: &TestStack,
    account: &str,
    n: usize,
    age: i64,
    status: JobStatus,
    model: &str,
) -> String {
    let id = format!("vid_{:032x}", rand_id(account, n));
    let created = from_epoch(t.clock.epoch_secs() - age);
    let mut job = Job::queued(
        JobId::new(&id),
        AccountId::new(account),
        created,
        format!("seeded wave {n}"),
        VideoSettings {
            seconds: 4,
            aspect_ratio: "16:9".into(),
            audio: true,
        },
        1,
    );
    job.status = status;
    job.model = Some(model.to_owned());
    if status == JobStatus::Ready {
        job.completed_at = Some(created);
        job.expires_at = Some(from_epoch(t.clock.epoch_secs() + 86_400));
        job.expires_epoch = Some(t.clock.epoch_secs() + 86_400);
        job.output_key = Some(shared::domain::video::output_key(&id));
    }
    t.stack
        .aws
        .transactions()
        .begin()
        .add("job", t.videos_store().create_write(&job).unwrap())
        .commit()
        .await
        .unwrap();
    id
}

fn rand_id(account: &str, n: usize) -> u128 {
    let digest = shared::domain::crypto::sha256_hex(&format!("{account}/{n}"));
    u128::from_str_radix(&digest[..32], 16).unwrap()
}

/// Every page of `GET /v1/videos?{query}`: the ids in order, and the pages' sizes.
async fn all_pages(t: &TestStack, token: &str, query: &str) -> (Vec<String>, Vec<usize>) {
    let (mut ids, mut sizes, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let mut path = format!("/v1/videos?{query}");
        if let Some(c) = &cursor {
            path.push_str("&cursor=");
            path.extend(url::form_urlencoded::byte_serialize(c.as_bytes()));
        }
        let page = t.get(&path, Some(token)).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let items = page.body["items"].as_array().unwrap();
        sizes.push(items.len());
        ids.extend(items.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (ids, sizes),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r36_the_library_is_filtered_by_status_and_model_each_from_an_index_of_its_own() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("filters")).await;
    let (_, other) = t.signed_in(&unique_email("filters-other")).await;
    let models = t.get("/v1/models", None).await;
    let ids: Vec<String> = models.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    let (a, b) = (ids[0].clone(), ids[1].clone());
    // 25 ready of A, 3 failed of B, 2 queued of A, one deleted, one ready of A past
    // its retention (not purged yet), each a minute older than the one before; and
    // another person's ready videos of A.
    let mut made: Vec<(String, JobStatus, String)> = Vec::new();
    let plan = std::iter::repeat_n((JobStatus::Ready, &a), 25)
        .chain(std::iter::repeat_n((JobStatus::Failed, &b), 3))
        .chain(std::iter::repeat_n((JobStatus::Queued, &a), 2))
        .chain([(JobStatus::Deleted, &a)]);
    for (n, (status, model)) in plan.enumerate() {
        let age = 60 * (n as i64 * 7 % 31 + 1) + n as i64;
        made.push((
            seed(&t, &account, n, age, status, model).await,
            status,
            model.clone(),
        ));
    }
    let stale = seed(&t, &account, 99, 5_000, JobStatus::Generating, &a).await;
    let ended = t.clock.epoch_secs() - 60;
    t.videos_store()
        .mark_ready(
            &stale,
            &shared::domain::video::output_key(&stale),
            from_epoch(ended - 60),
            from_epoch(ended),
            ended,
        )
        .await
        .unwrap();
    for n in 0..3 {
        seed(&t, &other, 200 + n, 30, JobStatus::Ready, &a).await;
    }

    // Newest first, in every filter, as the unfiltered list orders them.
    let (everything, _) = all_pages(&t, &token, "").await;
    assert_eq!(everything.len(), 31, "all but the deleted one");
    let expect = |keep: &dyn Fn(JobStatus, &str) -> bool| -> Vec<String> {
        everything
            .iter()
            .filter(|id| {
                made.iter()
                    .find(|(m, _, _)| m == *id)
                    .is_some_and(|(_, s, model)| keep(*s, model))
            })
            .cloned()
            .collect()
    };
    let (ready, sizes) = all_pages(&t, &token, "status=ready").await;
    assert_eq!(ready, expect(&|s, _| s == JobStatus::Ready));
    assert_eq!(
        ready.len(),
        25,
        "the one past its retention reads expired, not ready"
    );
    assert!(!ready.contains(&stale));
    assert_eq!(sizes[0], 20, "{sizes:?}");
    // Three of thirty-two stored: one page, and no cursor. The index holds only them;
    // a filter applied to the whole library would have stopped after twenty items
    // read and handed back a cursor.
    let failed = t.get("/v1/videos?status=failed", Some(&token)).await;
    assert_eq!(
        failed.body["items"].as_array().unwrap().len(),
        3,
        "{}",
        failed.body
    );
    assert!(failed.body["next_cursor"].is_null(), "{}", failed.body);
    let (of_b, _) = all_pages(&t, &token, &format!("model={b}")).await;
    assert_eq!(of_b, expect(&|_, m| m == b));
    let (queued_a, _) = all_pages(&t, &token, &format!("status=queued&model={a}")).await;
    assert_eq!(queued_a, expect(&|s, m| s == JobStatus::Queued && m == a));
    assert_eq!(queued_a.len(), 2);
    let (none, _) = all_pages(&t, &token, &format!("status=ready&model={b}")).await;
    assert!(none.is_empty());
    let deleted = made
        .iter()
        .find(|(_, s, _)| *s == JobStatus::Deleted)
        .unwrap();
    let (of_a, _) = all_pages(&t, &token, &format!("model={a}")).await;
    assert!(
        !of_a.contains(&deleted.0),
        "a deleted video is in no filter"
    );
    assert_eq!(
        of_a.len(),
        28,
        "25 ready, 2 queued and the expired one: {of_a:?}"
    );

    // A filtered video is the same video as the whole list shows.
    let whole = t.get("/v1/videos", Some(&token)).await;
    let filtered = t.get(&format!("/v1/videos?model={a}"), Some(&token)).await;
    let without_link = |v: &Value| {
        let mut v = v.clone();
        assert!(
            v["download_url"].is_string() || v["status"] != "ready",
            "{v}"
        );
        v.as_object_mut().unwrap().remove("download_url");
        v
    };
    for item in filtered.body["items"].as_array().unwrap() {
        let same = whole.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == item["id"]);
        if let Some(same) = same {
            assert_eq!(without_link(item), without_link(same));
        }
    }

    // What cannot be filtered on is refused, and changes nothing.
    t.get("/v1/videos?status=deleted", Some(&token))
        .await
        .assert_problem(422, "invalid_request");
    t.get("/v1/videos?status=done", Some(&token))
        .await
        .assert_problem(422, "invalid_request");
    t.get("/v1/videos?model=no-such-model", Some(&token))
        .await
        .assert_problem(422, "unknown_model");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_video_moves_between_the_filters_as_it_is_made() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("filters-flow")).await;
    let listed = async |query: String| -> Vec<String> {
        let page = t.get(&format!("/v1/videos?{query}"), Some(&token)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // One accepted and never finished (the providers are slow), one made.
    t.outage("fal", "slow").await;
    t.outage("replicate", "slow").await;
    let waiting = t
        .submit_video(
            &token,
            json!({ "prompt": "a slow tide", "seconds": 4 }),
            None,
        )
        .await;
    let waiting = waiting.body["id"].as_str().unwrap().to_owned();
    let model = t.stored_job(&waiting).await.model.unwrap();
    t.wait_status(&token, &waiting, "generating", 30).await;
    t.outage("fal", "up").await;
    t.outage("replicate", "up").await;
    let made = t
        .submit_video(
            &token,
            json!({ "prompt": "a quick tide", "seconds": 4, "model": model }),
            None,
        )
        .await;
    let made = made.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &made, "ready", 60).await;
    let status = "generating";
    assert_eq!(t.stored_job(&waiting).await.status, JobStatus::Generating);

    assert_eq!(
        listed(format!("status={status}&model={model}")).await,
        vec![waiting.clone()]
    );
    assert_eq!(
        listed(format!("status={status}")).await,
        vec![waiting.clone()]
    );
    assert_eq!(listed("status=ready".into()).await, vec![made.clone()]);
    assert_eq!(
        listed(format!("status=ready&model={model}")).await,
        vec![made.clone()]
    );
    assert_eq!(
        listed(format!("model={model}")).await,
        vec![made.clone(), waiting.clone()]
    );
    // Deleted: in no filter any more.
    assert_eq!(
        t.delete(&format!("/v1/videos/{made}"), Some(&token))
            .await
            .status,
        204
    );
    assert!(listed("status=ready".into()).await.is_empty());
    assert_eq!(listed(format!("model={model}")).await, [waiting]);
}
#[tokio::test(flavor = "multi_thread")]
async fn a_video_being_made_shows_the_wait_left_from_its_models_recent_times() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("eta")).await;
    // No history yet: no estimate.
    t.outage("fal", "slow").await;
    t.outage("replicate", "slow").await;
    let first = t
        .submit_video(
            &token,
            json!({ "prompt": "a first wave", "seconds": 4 }),
            None,
        )
        .await;
    assert!(first.body.get("eta_seconds").is_none(), "{}", first.body);
    t.outage("fal", "up").await;
    t.outage("replicate", "up").await;
    let made = t
        .submit_video(
            &token,
            json!({ "prompt": "a second wave", "seconds": 4 }),
            None,
        )
        .await;
    let model = made.body["model"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();
    let ready = t.wait_status(&token, &id, "ready", 30).await;
    assert!(ready.get("eta_seconds").is_none(), "none once ready");
    // The model has a time to ready now: a video of it still waiting shows the wait,
    // once the process's reading of the model's times is a minute old.
    t.clock.advance(std::time::Duration::from_secs(61));
    t.outage("fal", "slow").await;
    t.outage("replicate", "slow").await;
    let waiting = t
        .submit_video(
            &token,
            json!({ "prompt": "a third wave", "seconds": 4, "model": model }),
            None,
        )
        .await;
    // The answer to the submission is the new video as stored; its polls show the wait.
    let seen = t
        .get(
            &format!("/v1/videos/{}", waiting.body["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    let eta = seen.body["eta_seconds"].as_u64().expect("an estimate");
    assert!(eta <= 60, "{eta}");
    let listed = t.get("/v1/videos", Some(&token)).await;
    assert!(
        listed.body["items"][0]["eta_seconds"].as_u64().is_some(),
        "{}",
        listed.body
    );
}

#[test]
fn the_filter_indexes_of_the_template_are_the_ones_the_listing_queries() {
    use shared::adapters::dynamo::videos::{
        BY_MODEL_INDEX, BY_STATUS_INDEX, BY_STATUS_MODEL_INDEX, projected_attributes,
    };
    let template = e2e_tests::local_stack::template::Template::load().unwrap();
    let table = &template.root()["Resources"]["VideosTable"]["Properties"];
    let filters = [
        (BY_STATUS_INDEX, vec!["account_id", "status"]),
        (BY_MODEL_INDEX, vec!["account_id", "model"]),
        (BY_STATUS_MODEL_INDEX, vec!["account_id", "status", "model"]),
    ];
    // A new stack has all three; one made before them takes them one per deploy, as
    // CloudFormation adds one index to a table per update, each with the attribute
    // definitions its keys need (DynamoDB refuses one no key uses).
    for count in 0..=3 {
        let value = count.to_string();
        let param = |p: &str| (p == "LibraryFilterIndexes").then(|| value.clone());
        let indexes = template
            .list_items(&table["GlobalSecondaryIndexes"], &param)
            .unwrap();
        let named = |name: &str| {
            indexes
                .iter()
                .find(|i| i["IndexName"].as_str() == Some(name))
        };
        let present: Vec<&str> = filters
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| named(n).is_some())
            .collect();
        assert_eq!(
            present,
            filters
                .iter()
                .map(|(n, _)| *n)
                .take(count)
                .collect::<Vec<_>>()
        );
        let defined: std::collections::BTreeSet<&str> = template
            .list_items(&table["AttributeDefinitions"], &param)
            .unwrap()
            .iter()
            .map(|a| a["AttributeName"].as_str().unwrap())
            .collect();
        let keyed: std::collections::BTreeSet<&str> = table["KeySchema"]
            .as_sequence()
            .unwrap()
            .iter()
            .chain(
                indexes
                    .iter()
                    .flat_map(|i| i["KeySchema"].as_sequence().unwrap()),
            )
            .map(|k| k["AttributeName"].as_str().unwrap())
            .collect();
        assert_eq!(defined, keyed, "{count} filter indexes");
        if count < 3 {
            continue;
        }
        for (name, partition) in &filters {
            let index = named(name).unwrap();
            let keys: Vec<(&str, &str)> = index["KeySchema"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|k| {
                    (
                        k["AttributeName"].as_str().unwrap(),
                        k["KeyType"].as_str().unwrap(),
                    )
                })
                .collect();
            let mut want: Vec<(&str, &str)> = partition.iter().map(|a| (*a, "HASH")).collect();
            want.push(("created_at", "RANGE"));
            assert_eq!(keys, want, "{name}: the listing's key condition and order");
            assert_eq!(
                index["Projection"]["ProjectionType"].as_str(),
                Some("INCLUDE")
            );
            let projected: std::collections::BTreeSet<&str> =
                index["Projection"]["NonKeyAttributes"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect();
            assert_eq!(
                projected,
                projected_attributes(name).into_iter().collect(),
                "{name}"
            );
        }
    }
    assert_eq!(
        template
            .parameter_default("LibraryFilterIndexes")
            .as_deref(),
        Some("3")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_a_video_is_made_again_from_one_being_made_with_its_image_kept_until_both_are_done() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("again")).await;
    let purge = async || {
        let r = t.post("/_local/purge", json!({}), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    };
    let upload = t.upload(&token, "image/png", e2e_tests::png_bytes()).await;
    t.outage("fal", "slow").await;
    t.outage("replicate", "slow").await;
    let first = t
        .submit_video(
            &token,
            json!({ "prompt": "the lighthouse wakes", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    assert_eq!(first.status, 202, "{}", first.body);
    let first = first.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &first, "generating", 30).await;
    // Being made: the video names its image, which a new video may use too.
    let seen = t.get(&format!("/v1/videos/{first}"), Some(&token)).await;
    assert_eq!(seen.body["upload_id"], upload.as_str(), "{}", seen.body);
    for field in [
        "prompt",
        "model",
        "seconds",
        "aspect_ratio",
        "audio",
        "mode",
    ] {
        assert!(!seen.body[field].is_null(), "{field}: {}", seen.body);
    }
    let again = t
        .submit_video(
            &token,
            json!({
                "prompt": "the lighthouse wakes, at dawn",
                "upload_id": upload,
                "seconds": seen.body["seconds"],
                "model": seen.body["model"],
                "aspect_ratio": seen.body["aspect_ratio"],
                "audio": seen.body["audio"],
            }),
            None,
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    let again = again.body["id"].as_str().unwrap().to_owned();

    // The first is done (deleted here): its image stays for the second.
    assert_eq!(
        t.delete(&format!("/v1/videos/{first}"), Some(&token))
            .await
            .status,
        204
    );
    purge().await;
    purge().await;
    assert!(
        t.object_exists("InputsBucket", &upload).await,
        "still used by the second"
    );
    t.wait_status(&token, &again, "generating", 30).await;
    // The second is done too: the image goes (R15), and it is no longer offered.
    assert_eq!(
        t.delete(&format!("/v1/videos/{again}"), Some(&token))
            .await
            .status,
        204
    );
    purge().await;
    assert!(
        !t.object_exists("InputsBucket", &upload).await,
        "deleted with the last"
    );
    let third = t
        .submit_video(
            &token,
            json!({ "prompt": "the lighthouse sleeps", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    third.assert_problem(422, "invalid_upload");
    let text = third.body["detail"].as_str().unwrap();
    assert!(text.contains("upload it again"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_a_finished_video_offers_no_image_to_make_again() {
    let t = TestStack::start().await;
    let (token, _) = t.signed_in(&unique_email("again-done")).await;
    let upload = t.upload(&token, "image/png", e2e_tests::png_bytes()).await;
    let made = t
        .submit_video(
            &token,
            json!({ "prompt": "a paper boat", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let id = made.body["id"].as_str().unwrap().to_owned();
    let ready = t.wait_status(&token, &id, "ready", 30).await;
    assert!(ready.get("upload_id").is_none(), "{ready}");
    assert_eq!(ready["mode"], "image");
    let listed = t.get("/v1/videos", Some(&token)).await;
    assert!(listed.body["items"][0].get("upload_id").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn r15_the_upgrade_names_old_jobs_models_and_keeps_the_images_of_jobs_in_flight() {
    let t = TestStack::start().await;
    let (token, account) = t.signed_in(&unique_email("upgrade")).await;
    let default = shared::domain::models::shipped_default_id().unwrap();
    // A job stored before models existed, and one being made from an image before
    // uploads kept their jobs: as the store held them then.
    let old = seed(&t, &account, 1, 600, JobStatus::Failed, &default).await;
    t.strip_video_item(&format!("job#{old}"), "model").await;
    let of_default = format!("model={default}");
    assert!(!all_pages(&t, &token, &of_default).await.0.contains(&old));
    t.outage("fal", "slow").await;
    t.outage("replicate", "slow").await;
    let upload = t.upload(&token, "image/png", e2e_tests::png_bytes()).await;
    let first = t
        .submit_video(
            &token,
            json!({ "prompt": "an old lantern", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let first = first.body["id"].as_str().unwrap().to_owned();
    t.wait_status(&token, &first, "generating", 30).await;
    t.strip_video_item(&format!("upload#{upload}"), "jobs")
        .await;

    let op = t.operator().await;
    let line = ["upgrade-library".to_owned()];
    let done = op.run(operator::parse(&line).unwrap()).await.unwrap();
    assert_eq!(done["models_named"], 1, "{done}");
    assert_eq!(done["uploads_joined"], 1, "{done}");
    // The old job is in its model's filter; again, nothing changes.
    assert!(all_pages(&t, &token, &of_default).await.0.contains(&old));
    assert_eq!(
        t.stored_job(&old).await.model.as_deref(),
        Some(default.as_str())
    );
    let again = op.run(operator::parse(&line).unwrap()).await.unwrap();
    assert_eq!(again["models_named"], 0, "{again}");

    // A video made again from the job in flight, done first, leaves its image to it.
    let second = t
        .submit_video(
            &token,
            json!({ "prompt": "an old lantern, lit", "upload_id": upload, "seconds": 4 }),
            None,
        )
        .await;
    let second = second.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.delete(&format!("/v1/videos/{second}"), Some(&token))
            .await
            .status,
        204
    );
    let r = t.post("/_local/purge", json!({}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        t.object_exists("InputsBucket", &upload).await,
        "the first still uses it"
    );
}
