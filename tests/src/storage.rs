//! What the stack stores, read straight from the local AWS endpoint (never through the
//! fault mode the functions may be under), and credits given as a purchase would.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::TestStack;

impl TestStack {
    /// The local name of a table or bucket (the URL of a queue) the template declares.
    pub fn table(&self, logical_id: &str) -> String {
        self.stack.refs.refs[logical_id].clone()
    }

    /// Every item of a table, as a test inspects what is stored (never on a request path).
    pub async fn scan(
        &self,
        logical_id: &str,
    ) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .stack
                .aws
                .dynamodb()
                .scan()
                .table_name(self.table(logical_id))
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// Every stored value of a table as text, to search for what must not be there.
    /// Everything every table and bucket of the template holds, as text.
    pub async fn everything_stored(&self) -> String {
        let mut all = String::new();
        for r in self.stack.template.resources() {
            match r.kind {
                "AWS::DynamoDB::Table" => {
                    all.push_str(&format!("== {}\n", r.logical_id));
                    all.push_str(&self.table_text(r.logical_id).await);
                }
                "AWS::S3::Bucket" => {
                    all.push_str(&format!("== {}\n", r.logical_id));
                    let out = self
                        .stack
                        .aws
                        .s3()
                        .list_objects_v2()
                        .bucket(self.bucket(r.logical_id))
                        .send()
                        .await
                        .unwrap();
                    for o in out.contents() {
                        let key = o.key().unwrap_or_default();
                        all.push_str(key);
                        all.push('\n');
                        let body = self
                            .stack
                            .aws
                            .s3()
                            .get_object()
                            .bucket(self.bucket(r.logical_id))
                            .key(key)
                            .send()
                            .await
                            .unwrap()
                            .body
                            .collect()
                            .await
                            .unwrap()
                            .into_bytes();
                        all.push_str(&String::from_utf8_lossy(&body));
                        all.push('\n');
                    }
                }
                _ => {}
            }
        }
        all
    }

    /// The account's stored items of one kind (`usage#`, `security#`, …), oldest first.
    pub async fn privacy_items(
        &self,
        account: &str,
        prefix: &str,
    ) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        self.stack
            .functions
            .privacy_requests
            .privacy
            .items(account, prefix)
            .await
            .unwrap()
    }

    /// Whether an account signs in with this address.
    pub async fn account_with_email_exists(&self, email: &str) -> bool {
        self.stack
            .functions
            .account
            .accounts
            .find_by_email(email)
            .await
            .unwrap()
            .is_some()
    }

    /// Whether the account's profile is still stored.
    pub async fn account_exists(&self, account: &str) -> bool {
        self.stack
            .functions
            .account
            .accounts
            .get(account)
            .await
            .unwrap()
            .is_some()
    }

    /// How many security events named `event` the account has (R22).
    pub async fn security_events(&self, account: &str, event: &str) -> usize {
        self.stack
            .functions
            .privacy_requests
            .privacy
            .items(account, "security#")
            .await
            .unwrap()
            .iter()
            .filter(|i| {
                i.get("event")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some(event)
            })
            .count()
    }

    /// Waits until `privacy-requests` has erased the account (its profile is gone).
    pub async fn wait_account_gone(&self, account: &str) {
        for _ in 0..150 {
            let left = self
                .stack
                .functions
                .account
                .accounts
                .get(account)
                .await
                .unwrap();
            if left.is_none() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("{account} was not erased");
    }

    pub async fn table_text(&self, logical_id: &str) -> String {
        let mut items: Vec<String> = self
            .scan(logical_id)
            .await
            .into_iter()
            .map(|i| {
                let fields: Vec<String> = i
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .iter()
                    .map(|(k, v)| format!("{k:?}: {}", stable_text(v)))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            })
            .collect();
        items.sort();
        items.join("\n")
    }

    /// Removes `attributes` (a comma-separated list) from the videos table's item `pk`,
    /// straight at the local endpoint: an item as an older release stored it.
    pub async fn strip_video_item(&self, pk: &str, attributes: &str) {
        self.stack
            .aws
            .dynamodb()
            .update_item()
            .table_name(self.table("VideosTable"))
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(pk.to_owned()),
            )
            .update_expression(format!("REMOVE {attributes}"))
            .send()
            .await
            .unwrap();
    }

    /// The videos table as the tests read it: straight from the local AWS endpoint,
    /// never through the fault mode the functions may be under.
    pub fn videos_store(&self) -> shared::adapters::dynamo::videos::VideoStore {
        shared::adapters::dynamo::videos::VideoStore::new(
            self.stack.aws.dynamodb().clone(),
            self.table("VideosTable"),
        )
    }

    /// The ledger as the tests read and grant it, straight from the local endpoint.
    pub fn ledger_store(&self) -> shared::adapters::dynamo::ledger::LedgerStore {
        shared::adapters::dynamo::ledger::LedgerStore::new(
            self.stack.aws.dynamodb().clone(),
            self.table("LedgerTable"),
        )
    }

    /// `(visible, delayed)` messages of a queue the template declares.
    pub async fn queue_counts(&self, logical_id: &str) -> (u64, u64) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .stack
            .aws
            .sqs()
            .get_queue_attributes()
            .queue_url(self.table(logical_id))
            .attribute_names(A::All)
            .send()
            .await
            .expect("queue attributes");
        let attrs = out.attributes.unwrap_or_default();
        let n = |a: A| attrs.get(&a).and_then(|v| v.parse().ok()).unwrap_or(0);
        (
            n(A::ApproximateNumberOfMessages),
            n(A::ApproximateNumberOfMessagesDelayed),
        )
    }

    /// A job as stored (what no API answer shows, such as a deleted job's record).
    pub async fn stored_job(&self, id: &str) -> shared::domain::video::Job {
        self.videos_store()
            .get(id)
            .await
            .unwrap()
            .expect("the job is stored")
    }

    /// Gives an account credits, as a purchase would.
    pub async fn grant(&self, account_id: &str, credits: i64) {
        let at = shared::domain::clock::rfc3339(self.clock.now());
        let cause = format!("test:{}", uuid::Uuid::new_v4().simple());
        self.stack
            .aws
            .give_credits(
                &self.ledger_store(),
                account_id,
                shared::domain::ledger::EntryKind::Grant,
                credits,
                &cause,
                &at,
            )
            .await
            .unwrap();
    }

    pub async fn balance(&self, account_id: &str) -> i64 {
        self.ledger_store().balance(account_id).await.unwrap()
    }

    pub async fn ledger(&self, account_id: &str) -> Vec<shared::adapters::dynamo::ledger::Entry> {
        self.ledger_store().entries(account_id).await.unwrap()
    }

    /// Entries of one kind for one cause (a job id).
    pub async fn entries_for(&self, account_id: &str, kind: &str, reference: &str) -> usize {
        self.ledger(account_id)
            .await
            .iter()
            .filter(|e| e.kind == kind && e.reference == reference)
            .count()
    }

    pub fn bucket(&self, logical_id: &str) -> String {
        self.table(logical_id)
    }

    pub async fn object_exists(&self, logical_id: &str, key: &str) -> bool {
        self.stack
            .aws
            .s3()
            .head_object()
            .bucket(self.bucket(logical_id))
            .key(key)
            .send()
            .await
            .is_ok()
    }

    /// The stored output of a video job.
    pub async fn head_output(
        &self,
        job_id: &str,
    ) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
        self.stack
            .aws
            .s3()
            .head_object()
            .bucket(self.bucket("OutputsBucket"))
            .key(format!("videos/{job_id}.mp4"))
            .send()
            .await
            .expect("the output is stored")
    }
}

/// An attribute as `Debug` shows it, with the keys of maps in order (a map's order
/// otherwise changes from one read to the next).
fn stable_text(v: &AttributeValue) -> String {
    match v {
        AttributeValue::M(m) => {
            let fields: Vec<String> = m
                .iter()
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .map(|(k, v)| format!("{k:?}: {}", stable_text(v)))
                .collect();
            format!("M({{{}}})", fields.join(", "))
        }
        AttributeValue::L(l) => format!(
            "L([{}])",
            l.iter().map(stable_text).collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}"),
    }
}
