//! How a function is assembled from configuration: the [`Base`] every function shares
//! (AWS clients, clock, policy, the outbound HTTP client), and one constructor per
//! capability that reads that capability's variables. A function's `State::build`
//! calls only the constructors of what it uses, so it reads — and the template gives
//! it — nothing else.

use crate::adapters::aws::{AwsClients, AwsSettings};
use crate::adapters::dynamo::accounts::AccountStore;
use crate::adapters::dynamo::audit::AuditStore;
use crate::adapters::dynamo::codes::CodeStore;
use crate::adapters::dynamo::ledger::LedgerStore;
use crate::adapters::dynamo::rate_limits::RateLimiter;
use crate::adapters::dynamo::sessions::SessionStore;
use crate::adapters::dynamo::videos::VideoStore;
use crate::adapters::env::{ConfigError, Env};
use crate::adapters::outbound::LazyClient;
use crate::adapters::s3::Blobs;
use crate::adapters::ses::Mailer;
use crate::adapters::sqs::Queue;
use crate::app::enforcement::Enforcement;
use crate::app::jobs::Jobs;
use crate::domain::clock::Clock;
use crate::domain::policy::Policy;
use crate::edge::http::session::SessionCheck;

/// Shortest accepted `HASH_SECRET`.
pub const HASH_SECRET_MIN_LEN: usize = 32;

/// What every function of one process shares, built once (in `main`, or once for all
/// functions by the local stack).
#[derive(Clone, Debug)]
pub struct Base {
    pub aws: AwsClients,
    pub clock: Clock,
    pub policy: Policy,
    /// One HTTP client (one connection pool) for every third party, made on first use.
    pub http: LazyClient,
}

impl Base {
    pub fn new(aws: AwsClients, clock: Clock, policy: Policy) -> Self {
        Self {
            aws,
            clock,
            policy,
            http: LazyClient::new(),
        }
    }

    /// What a Lambda `main` does: clients from the default credential chain in the
    /// configured region, the system clock, the policy's numbers.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let aws = AwsClients::load(&AwsSettings::from_env(env)?).await;
        Ok(Self::new(aws, Clock::system(), Policy::default()))
    }

    /// The capability constructors, reading from `env`.
    pub fn wire<'a>(&'a self, env: &'a Env) -> Wiring<'a> {
        Wiring { base: self, env }
    }
}

/// One constructor per capability; each reads its own variables.
pub struct Wiring<'a> {
    pub base: &'a Base,
    pub env: &'a Env,
}

impl Wiring<'_> {
    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        self.base.aws.dynamodb().clone()
    }

    pub fn accounts(&self) -> Result<AccountStore, ConfigError> {
        Ok(AccountStore::new(
            self.dynamodb(),
            self.env.required("ACCOUNTS_TABLE")?,
        ))
    }

    pub fn sessions(&self) -> Result<SessionStore, ConfigError> {
        Ok(SessionStore::new(
            self.dynamodb(),
            self.env.required("SESSIONS_TABLE")?,
        ))
    }

    /// Sign-in codes live beside the sessions.
    pub fn codes(&self) -> Result<CodeStore, ConfigError> {
        Ok(CodeStore::new(
            self.dynamodb(),
            self.env.required("SESSIONS_TABLE")?,
        ))
    }

    pub fn ledger(&self) -> Result<LedgerStore, ConfigError> {
        Ok(LedgerStore::new(
            self.dynamodb(),
            self.env.required("LEDGER_TABLE")?,
        ))
    }

    /// Consents, rights requests, support messages, usage data and security events.
    pub fn privacy(&self) -> Result<crate::adapters::dynamo::privacy::PrivacyStore, ConfigError> {
        Ok(crate::adapters::dynamo::privacy::PrivacyStore::new(
            self.dynamodb(),
            self.env.required("PRIVACY_TABLE")?,
        ))
    }

    /// The queue of rights requests, for `privacy-requests`.
    pub fn privacy_queue(&self) -> Result<crate::adapters::sqs::PrivacyQueue, ConfigError> {
        Ok(crate::adapters::sqs::PrivacyQueue::new(
            crate::adapters::aws::OnDemand::new(
                &self.base.aws,
                crate::adapters::aws::AwsClients::sqs,
            ),
            self.env.required("PRIVACY_QUEUE_URL")?,
        ))
    }

    pub fn audit(&self) -> Result<AuditStore, ConfigError> {
        Ok(AuditStore::new(
            self.dynamodb(),
            self.env.required("AUDIT_TABLE")?,
        ))
    }

    pub fn billing(&self) -> Result<crate::adapters::dynamo::billing::BillingStore, ConfigError> {
        Ok(crate::adapters::dynamo::billing::BillingStore::new(
            self.dynamodb(),
            self.env.required("BILLING_TABLE")?,
        ))
    }

    /// The catalogue of what can be bought (`BILLING_PRODUCTS`, JSON).
    pub fn catalogue(&self) -> Result<Vec<crate::domain::billing::Product>, ConfigError> {
        crate::domain::billing::parse_catalogue(&self.env.required("BILLING_PRODUCTS")?).map_err(
            |e| ConfigError::Invalid {
                var: "BILLING_PRODUCTS",
                reason: e.to_string(),
            },
        )
    }

    pub fn videos(&self) -> Result<VideoStore, ConfigError> {
        Ok(VideoStore::new(
            self.dynamodb(),
            self.env.required("VIDEOS_TABLE")?,
        ))
    }

    /// Key of the keyed hashes of codes, addresses and rate-limit subjects. A secret.
    pub fn hash_secret(&self) -> Result<crate::domain::secret::Secret, ConfigError> {
        self.env.secret("HASH_SECRET", HASH_SECRET_MIN_LEN)
    }

    /// Emailed one-time codes of every purpose (sign-in, confirmations).
    pub fn emailed_codes(&self) -> Result<crate::app::emailed_codes::EmailedCodes, ConfigError> {
        Ok(crate::app::emailed_codes::EmailedCodes {
            codes: self.codes()?,
            limits: self.rate_limiter()?,
            mailer: self.mailer()?,
            accounts: self.accounts()?,
            privacy: self.privacy()?,
            clock: self.base.clock.clone(),
            policy: self.base.policy.clone(),
            hash_secret: self.hash_secret()?,
        })
    }

    pub fn rate_limiter(&self) -> Result<RateLimiter, ConfigError> {
        Ok(RateLimiter::new(
            self.dynamodb(),
            self.env.required("RATE_LIMITS_TABLE")?,
            self.hash_secret()?.expose().as_bytes().to_vec(),
        ))
    }

    /// The record of signed calls already taken, in `RATE_LIMITS_TABLE`.
    pub fn replay_guard(
        &self,
    ) -> Result<crate::adapters::dynamo::replays::ReplayGuard, ConfigError> {
        Ok(crate::adapters::dynamo::replays::ReplayGuard::new(
            self.dynamodb(),
            self.env.required("RATE_LIMITS_TABLE")?,
        ))
    }

    /// Service mail from `MAIL_FROM`, an SES identity.
    pub fn mailer(&self) -> Result<Mailer, ConfigError> {
        Ok(Mailer::new(
            crate::adapters::aws::OnDemand::new(
                &self.base.aws,
                crate::adapters::aws::AwsClients::ses,
            ),
            self.env.email("MAIL_FROM")?,
        ))
    }

    pub fn generate_queue(&self) -> Result<Queue, ConfigError> {
        Ok(Queue::new(
            crate::adapters::aws::OnDemand::new(
                &self.base.aws,
                crate::adapters::aws::AwsClients::sqs,
            ),
            self.env.required("GENERATE_QUEUE_URL")?,
        ))
    }

    pub fn blobs(&self) -> Blobs {
        Blobs::new(crate::adapters::aws::OnDemand::new(
            &self.base.aws,
            crate::adapters::aws::AwsClients::s3,
        ))
    }

    /// The key that signs content credentials (`SIGNING_KEY_ID`, a KMS key).
    pub fn key_signer(&self) -> Result<crate::adapters::kms::KeySigner, ConfigError> {
        Ok(crate::adapters::kms::KeySigner::new(
            crate::adapters::aws::OnDemand::new(
                &self.base.aws,
                crate::adapters::aws::AwsClients::kms,
            ),
            self.env.required("SIGNING_KEY_ID")?,
        ))
    }

    /// A bucket's name, from its variable (`INPUTS_BUCKET`, `OUTPUTS_BUCKET`).
    pub fn bucket(&self, var: &'static str) -> Result<String, ConfigError> {
        self.env.required(var)
    }

    /// A table by the variable that names it, for the walks over every data class.
    pub fn table(
        &self,
        var: &'static str,
    ) -> Result<crate::adapters::dynamo::table::Table, ConfigError> {
        Ok(crate::adapters::dynamo::table::Table::new(
            self.dynamodb(),
            self.env.required(var)?,
        ))
    }

    /// The API's public base URL (`PUBLIC_API_URL`), for links in mail.
    pub fn public_url(&self) -> Result<String, ConfigError> {
        Ok(self
            .env
            .url("PUBLIC_API_URL")?
            .trim_end_matches('/')
            .to_owned())
    }

    /// Checking the session of a signed-in request.
    pub fn session_check(&self) -> Result<SessionCheck, ConfigError> {
        Ok(SessionCheck {
            sessions: self.sessions()?,
            accounts: self.accounts()?,
            clock: self.base.clock.clone(),
            privacy: self.privacy()?,
            usage_retention_secs: self.base.policy.usage_retention.as_secs() as i64,
        })
    }

    /// Where transactions over several stores begin.
    pub fn transactions(&self) -> crate::adapters::dynamo::Transactions {
        crate::adapters::dynamo::Transactions::new(self.base.aws.dynamodb())
    }

    /// Ending a job with its refund.
    pub fn jobs(&self) -> Result<Jobs, ConfigError> {
        Ok(Jobs {
            videos: self.videos()?,
            ledger: self.ledger()?,
            transactions: self.transactions(),
            clock: self.base.clock.clone(),
            prompt_retention: self.base.policy.output_retention,
        })
    }

    /// Removing a video (R15, R20).
    pub fn video_removal(&self) -> Result<crate::app::removal::VideoRemoval, ConfigError> {
        Ok(crate::app::removal::VideoRemoval {
            jobs: self.jobs()?,
            blobs: self.blobs(),
            inputs_bucket: self.bucket("INPUTS_BUCKET")?,
            outputs_bucket: self.bucket("OUTPUTS_BUCKET")?,
            generate_queue: self.generate_queue()?,
        })
    }

    /// Recording and queueing rights requests.
    pub fn rights_requests(
        &self,
    ) -> Result<crate::app::rights_requests::RightsRequests, ConfigError> {
        Ok(crate::app::rights_requests::RightsRequests {
            accounts: self.accounts()?,
            privacy: self.privacy()?,
            queue: self.privacy_queue()?,
            transactions: self.transactions(),
            clock: self.base.clock.clone(),
            policy: self.base.policy.clone(),
        })
    }

    /// Refusals and appeals, in the privacy table (R45, R46).
    pub fn moderation(
        &self,
    ) -> Result<crate::adapters::dynamo::moderation::ModerationStore, ConfigError> {
        Ok(crate::adapters::dynamo::moderation::ModerationStore::new(
            self.dynamodb(),
            self.env.required("PRIVACY_TABLE")?,
        ))
    }

    /// The website's base URL (`SITE_URL`), for its pages' links (an appeal's).
    pub fn site_url(&self) -> Result<String, ConfigError> {
        Ok(self.env.url("SITE_URL")?.trim_end_matches('/').to_owned())
    }

    /// Recording refusals, counting their violations, telling them (R46).
    pub fn refusals(&self) -> Result<crate::app::refusals::Refusals, ConfigError> {
        Ok(crate::app::refusals::Refusals {
            moderation: self.moderation()?,
            accounts: self.accounts()?,
            policy: self.base.policy.clone(),
            clock: self.base.clock.clone(),
            transactions: self.transactions(),
            site_url: self.site_url()?,
        })
    }

    /// Filing and deciding appeals (R46).
    pub fn appeals(&self) -> Result<crate::app::appeals::Appeals, ConfigError> {
        Ok(crate::app::appeals::Appeals {
            refusals: self.refusals()?,
            ledger: self.ledger()?,
            transactions: self.transactions(),
        })
    }

    /// Rekognition's screening of uploads in `INPUTS_BUCKET` (R45).
    pub fn image_screening(
        &self,
    ) -> Result<crate::adapters::rekognition::ImageScreening, ConfigError> {
        Ok(crate::adapters::rekognition::ImageScreening::new(
            crate::adapters::aws::OnDemand::new(
                &self.base.aws,
                crate::adapters::aws::AwsClients::rekognition,
            ),
            self.bucket("INPUTS_BUCKET")?,
            self.base.policy.screening.min_confidence,
        ))
    }

    /// Recording content violations and suspending.
    pub fn enforcement(&self) -> Result<Enforcement, ConfigError> {
        Ok(Enforcement {
            accounts: self.accounts()?,
            sessions: self.sessions()?,
            audit: self.audit()?,
            privacy: self.privacy()?,
            policy: self.base.policy.clone(),
            clock: self.base.clock.clone(),
        })
    }

    /// Creem's subscriptions API (`CREEM_API_URL`, `CREEM_API_KEY`).
    pub fn creem_subscriptions(
        &self,
    ) -> Result<crate::adapters::creem::CreemSubscriptions, ConfigError> {
        crate::adapters::creem::CreemSubscriptions::from_env(self.env, self.base.http.clone())
    }

    /// The video providers `VIDEO_PROVIDERS` lists, each from its own variables.
    pub fn video_providers(
        &self,
    ) -> Result<crate::adapters::providers::video::Providers, ConfigError> {
        crate::adapters::providers::video::Providers::from_env(self.env, self.base.http.clone())
    }

    /// The models catalogue (`infra/models.json`, R42), checked against the providers
    /// the deployment has (`VIDEO_PROVIDERS`).
    pub fn models(&self) -> Result<crate::domain::models::Catalogue, ConfigError> {
        let names = self.provider_names()?;
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        crate::domain::models::Catalogue::parse(crate::domain::models::SHIPPED, &names).map_err(
            |e| ConfigError::Invalid {
                var: "VIDEO_PROVIDERS",
                reason: format!("the models catalogue: {e}"),
            },
        )
    }

    /// The names of the video providers the deployment has (`VIDEO_PROVIDERS`).
    pub fn provider_names(&self) -> Result<Vec<String>, ConfigError> {
        Ok(self
            .env
            .required("VIDEO_PROVIDERS")?
            .split(',')
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect())
    }

    /// The shared health of the video providers (R43).
    pub fn circuits(&self) -> Result<crate::adapters::dynamo::circuits::Circuits, ConfigError> {
        Ok(crate::adapters::dynamo::circuits::Circuits::new(
            self.dynamodb(),
            self.env.required("RATE_LIMITS_TABLE")?,
        ))
    }
}
