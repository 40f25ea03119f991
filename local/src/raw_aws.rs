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

    /// Where transactions over raw writes begin (a test's grant of credits).
    pub fn transactions(&self) -> shared::adapters::dynamo::Transactions {
        shared::adapters::dynamo::Transactions::new(&self.dynamodb)
    }
}

impl std::ops::Deref for RawAws {
    type Target = AwsClients;
    fn deref(&self) -> &AwsClients {
        &self.clients
    }
}
