//! The facts of README.md and ARCHITECTURE.md that code knows, written by code: the
//! table of environment variables (which function reads each, from the template) and
//! the table of functions (their triggers, from the declarations and the template).
//! Each sits between `<!-- generated:NAME -->` and `<!-- end:NAME -->`;
//! `cargo run -p local-stack -- docs` writes them anew and a test fails when the
//! checked-in text differs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::functions::{DECLARED, Kind};
use crate::template::Template;

/// What each variable is, for the table. A variable the template gives and this list
/// does not explain fails `docs::env_table`.
const MEANINGS: &[(&str, &str)] = &[
    ("RUST_LOG", "log filter (default `info`)"),
    ("ACCOUNTS_TABLE", "accounts and their unique keys"),
    ("SESSIONS_TABLE", "sessions and one-time codes"),
    ("LEDGER_TABLE", "credit balances and entries"),
    (
        "PRIVACY_TABLE",
        "usage data (each signed-in request), security events, consent history, rights requests, support messages, refusals and appeals",
    ),
    ("PRIVACY_QUEUE_URL", "the privacy queue"),
    ("EXPORTS_BUCKET", "export documents (72 h)"),
    ("SUPPORT_EMAIL", "where support messages are forwarded"),
    (
        "PUBLIC_API_URL",
        "the API's public URL, for links in mail (unsubscribe, export)",
    ),
    (
        "SITE_URL",
        "the website's origin, for its pages' links in mail and answers (unsubscribe, appeal)",
    ),
    (
        "RATE_LIMITS_TABLE",
        "rate-limit logs, webhook replay guards",
    ),
    (
        "HASH_SECRET_PARAMETER",
        "the parameter holding the key of the keyed hashes of codes, addresses, rate-limit subjects and pseudonyms (≥ 32 chars)",
    ),
    ("MAIL_FROM", "sender of service mail, an SES identity"),
    ("GOOGLE_CLIENT_ID", "the `aud` Google ID tokens must carry"),
    ("GOOGLE_JWKS_URL", "Google's token-signing keys"),
    ("AUDIT_TABLE", "enforcement actions"),
    ("VIDEOS_TABLE", "video jobs and uploads"),
    ("INPUTS_BUCKET", "uploaded images"),
    ("OUTPUTS_BUCKET", "generated videos"),
    ("GENERATE_QUEUE_URL", "the generate queue"),
    (
        "SIGNING_KEY_ID",
        "the KMS key (ECC P-256) that signs content credentials",
    ),
    (
        "SIGNING_CERTS_PARAMETER",
        "the parameter holding the signing key's certificate chain (PEM, end-entity first)",
    ),
    (
        "PROVIDER_WEBHOOK_URL",
        "our webhook the provider calls when a request ends; unset, the provider is polled",
    ),
    (
        "FAL_JWKS_URL",
        "fal's webhook keys (`https://rest.fal.ai/.well-known/jwks.json`)",
    ),
    (
        "FAL_USER_ID",
        "our fal user id, which fal's webhook signatures cover",
    ),
    (
        "CREEM_API_URL",
        "Creem's API (moderation, checkouts, subscriptions)",
    ),
    (
        "CREEM_API_KEY_PARAMETER",
        "the parameter holding Creem's API key",
    ),
    (
        "VIDEO_PROVIDERS",
        "the video providers this deployment uses, by their names in the registry (`fal,replicate`)",
    ),
    ("REPLICATE_API_URL", "Replicate's API"),
    (
        "REPLICATE_OUTPUT_HOSTS",
        "the hosts a Replicate output may be downloaded from (with their subdomains)",
    ),
    (
        "REPLICATE_API_TOKEN_PARAMETER",
        "the parameter holding Replicate's API token",
    ),
    (
        "REPLICATE_WEBHOOK_SECRET_PARAMETER",
        "the parameter holding Replicate's webhook signing secret",
    ),
    ("FAL_QUEUE_URL", "fal.ai's queue API"),
    (
        "FAL_API_URL",
        "fal.ai's REST API (deleting a request's files)",
    ),
    ("FAL_KEY_PARAMETER", "the parameter holding fal's API key"),
    (
        "FAL_OUTPUT_HOSTS",
        "the hosts an output may be downloaded from (with their subdomains)",
    ),
    (
        "BILLING_TABLE",
        "checkouts, payments, plans, applied events, refunds due",
    ),
    (
        "BILLING_PRODUCTS",
        "the catalogue (JSON: our id, Creem's product id, credits, price, period)",
    ),
    (
        "CHECKOUT_SUCCESS_URL",
        "where Creem sends the customer back",
    ),
    (
        "CREEM_WEBHOOK_SECRET_PARAMETER",
        "the parameter holding Creem's webhook signing secret",
    ),
];

/// The environment table: each variable the template gives, which functions it is
/// given to, and what it is.
pub fn env_table(template: &Template) -> Result<String, String> {
    let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (logical_id, binary) in template.functions() {
        let env = template
            .function_environment(&logical_id, |_| Some(String::new()))
            .map_err(|e| e.to_string())?;
        for var in env.into_keys() {
            readers.entry(var).or_default().push(binary.clone());
        }
    }
    let all = template.functions().len();
    let mut out = String::from("| variable | given to | meaning |\n| --- | --- | --- |\n");
    out.push_str("| `AWS_REGION` | all | the one region everything lives in (set by Lambda) |\n");
    // In the order of MEANINGS, which groups them by what they serve.
    for (var, meaning) in MEANINGS {
        let Some(mut functions) = readers.remove(*var) else {
            return Err(format!("{var}: explained but given to no function"));
        };
        functions.sort();
        let to = if functions.len() == all {
            "all".to_owned()
        } else {
            functions.join(", ")
        };
        out.push_str(&format!("| `{var}` | {to} | {meaning} |\n"));
    }
    if let Some(var) = readers.keys().next() {
        return Err(format!(
            "{var}: given by the template, not explained in local/src/docs.rs"
        ));
    }
    out.push_str(
        "| `AWS_ENDPOINT_URL` | all | only for a local AWS endpoint (never in the template) |\n",
    );
    Ok(out)
}

/// The functions table: each declared function and what triggers it.
pub fn functions_table(template: &Template) -> Result<String, String> {
    let ids: BTreeMap<String, String> = template
        .functions()
        .into_iter()
        .map(|(id, binary)| (binary, id))
        .collect();
    let mut out = String::from("| function | trigger |\n| --- | --- |\n");
    for d in DECLARED {
        let id = ids
            .get(d.name)
            .ok_or_else(|| format!("{}: not in the template", d.name))?;
        let trigger = match d.kind {
            Kind::Http { routes } => routes
                .iter()
                .map(|(m, p)| format!("`{} {p}`", m.to_uppercase()))
                .collect::<Vec<_>>()
                .join(", "),
            Kind::Queue => format!("SQS: `{}`", event_property(template, id, "SQS", "Queue")?),
            Kind::Schedule { local_path } => format!(
                "schedule `{}` (locally `POST {local_path}`)",
                event_property(template, id, "Schedule", "Schedule")?
            ),
        };
        out.push_str(&format!("| `{}` | {trigger} |\n", d.name));
    }
    Ok(out)
}

/// A property of a function's event of one type: a queue's logical id (from
/// `!GetAtt Queue.Arn`) or a schedule's expression.
fn event_property(
    template: &Template,
    logical_id: &str,
    kind: &str,
    property: &str,
) -> Result<String, String> {
    let function = template
        .resources_of("AWS::Serverless::Function")
        .into_iter()
        .find(|f| f.logical_id == logical_id)
        .ok_or_else(|| format!("no function {logical_id}"))?;
    let events = function
        .properties
        .get("Events")
        .and_then(Value::as_mapping);
    for (_, event) in events.into_iter().flatten() {
        if event.get("Type").and_then(Value::as_str) != Some(kind) {
            continue;
        }
        let value = event.get("Properties").and_then(|p| p.get(property));
        return match value {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Tagged(t)) => Ok(t
                .value
                .as_str()
                .unwrap_or_default()
                .trim_end_matches(".Arn")
                .to_owned()),
            _ => Err(format!("{logical_id}: {kind} event without {property}")),
        };
    }
    Err(format!("{logical_id}: no {kind} event"))
}

/// The processors of the data inventory, as a table (README, "Who else handles
/// personal data").
pub fn processors_table() -> String {
    let mut out = String::from(
        "| processor | what for | what it receives | how its copy goes |\n|---|---|---|---|\n",
    );
    for p in shared::domain::inventory::PROCESSORS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            p.name, p.role, p.receives, p.deletion
        ));
    }
    out
}

/// `text` with what stands between the markers of `name` replaced by `content`.
pub fn replace_section(text: &str, name: &str, content: &str) -> Result<String, String> {
    let start = format!("<!-- generated:{name} -->\n");
    let end = format!("<!-- end:{name} -->");
    let a = text
        .find(&start)
        .ok_or_else(|| format!("no {start:?} marker"))?
        + start.len();
    let b = text[a..]
        .find(&end)
        .ok_or_else(|| format!("no {end:?} marker"))?
        + a;
    Ok(format!("{}{content}{}", &text[..a], &text[b..]))
}

/// Each document with its generated sections, as they should read.
pub fn generated(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let template = Template::load().map_err(|e| e.to_string())?;
    let env = env_table(&template)?;
    let functions = functions_table(&template)?;
    let processors = processors_table();
    let mut out = Vec::new();
    for (file, sections) in [
        (
            "README.md",
            vec![("env", &env), ("processors", &processors)],
        ),
        ("ARCHITECTURE.md", vec![("functions", &functions)]),
    ] {
        let path = root.join(file);
        let mut text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        for (name, content) in sections {
            text = replace_section(&text, name, content).map_err(|e| format!("{file}: {e}"))?;
        }
        out.push((path, text));
    }
    Ok(out)
}

/// The workspace's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
