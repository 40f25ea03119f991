//! `operator <command> …` (`operator --help`). Reads the stack's table, queue and
//! bucket names and the hash key's parameter name from the environment, like the
//! functions do, with the operator's own AWS credentials.

use aws_config::BehaviorVersion;
use shared::adapters::aws::{AwsClients, AwsSettings};
use shared::adapters::env::{ConfigError, Env};
use shared::domain::clock::Clock;
use shared::domain::policy::Policy;
use shared::edge::wiring::Base;

/// The AWS clients from the default provider chain (a profile, SSO, the environment),
/// in the stack's region, through the same HTTPS client as the functions'.
async fn aws(env: &Env) -> Result<AwsClients, ConfigError> {
    let settings = AwsSettings::from_env(env)?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.region))
        .timeout_config(shared::adapters::aws::timeouts())
        .http_client(shared::adapters::aws::https_client());
    if let Some(url) = settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Ok(AwsClients::from_sdk_config(&loader.load().await))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match operator::parse_line(&args) {
        Ok(c) => c,
        // Help, the version, or a line clap refuses: printed as clap prints them.
        Err(operator::ParseError::Line(e)) => e.exit(),
        Err(operator::ParseError::Why(message)) => {
            eprintln!("{message}\n\nsee: operator <command> --help");
            std::process::exit(2);
        }
    };
    let out = async {
        let env = Env::process();
        let aws = aws(&env).await.map_err(|e| e.to_string())?;
        let base = Base::new(aws, Clock::system(), Policy::default());
        let env = env
            .with_parameters(base.aws.ssm())
            .await
            .map_err(|e| e.to_string())?;
        let op = operator::Operator::build(&base, &env).map_err(|e| e.to_string())?;
        op.run(command).await.map_err(|e| e.to_string())
    }
    .await;
    match out {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
