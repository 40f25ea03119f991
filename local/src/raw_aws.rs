//! The local stack's own AWS clients: those the functions are made with, plus the raw
//! DynamoDB client that makes the tables and that the tests and the bench seed and
//! read with. Only the local stack holds one: in the shared crate the raw client is
//! its stores' alone (`AwsClients::dynamodb` is `pub(crate)`), so no function can
//! reach around the stores to a table.

use shared::adapters::aws::AwsClients;

#[derive(Clone)]
pub struct RawAws {
    clients: AwsClients,
    dynamodb: aws_sdk_dynamodb::Client,
}

impl RawAws {
    /// For a local endpoint, with its fixed dummy credentials.
    pub async fn load_local(region: &str, endpoint: &str) -> Self {
        Self::over(AwsClients::load_local(region, endpoint).await)
    }

    pub fn over(clients: AwsClients) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(clients.sdk_config());
        Self { clients, dynamodb }
    }

    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamodb
    }

    /// Where transactions over raw writes begin.
    pub fn transactions(&self) -> shared::adapters::dynamo::Transactions {
        shared::adapters::dynamo::Transactions::new(&self.dynamodb)
    }

    /// Credits given as `kind` for `cause` (once per cause), as a purchase or a grant
    /// would give them: what the tests and the bench start accounts with, outside the
    /// flows they measure.
    pub async fn give_credits(
        &self,
        ledger: &shared::adapters::dynamo::ledger::LedgerStore,
        account: &str,
        kind: shared::domain::ledger::EntryKind,
        credits: i64,
        cause: &str,
        at: &str,
    ) -> Result<(), shared::adapters::dynamo::StoreError> {
        let writes = ledger.effect_writes(account, kind, credits, cause, at)?;
        self.transactions()
            .begin()
            .add_all("grant", writes)
            .commit()
            .await
    }
}

impl std::ops::Deref for RawAws {
    type Target = AwsClients;
    fn deref(&self) -> &AwsClients {
        &self.clients
    }
}
