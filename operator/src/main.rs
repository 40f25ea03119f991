//! `operator <command> …`: see `operator::USAGE`. Reads the stack's table, queue and
//! bucket names and the hash key's parameter name from the environment, like the
//! functions do, with the operator's own AWS credentials.

use shared::adapters::env::Env;
use shared::edge::wiring::Base;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match operator::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}\n\n{}", operator::USAGE);
            std::process::exit(2);
        }
    };
    let out = async {
        let env = Env::process();
        let base = Base::from_env(&env).await.map_err(|e| e.to_string())?;
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
