//! The OpenAPI document, generated from the code: each handler's `#[utoipa::path]`
//! and the types that parse its request and build its answer. [`document`] merges the
//! functions' parts and adds what every operation shares, derived from the operation
//! itself, so the document says exactly what the extractors do:
//!
//! - every operation: 503 `service_unavailable` (a dependency failed);
//! - a signed-in operation (one that declares the bearer scheme): 401 `unauthorized`;
//! - an operation with a JSON body: 400 `malformed_json`, 413, 415, 422;
//! - an operation with path or query parameters: 404 or 422 for ones that do not parse.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Response,
    ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

/// Name of the session-token security scheme.
pub const BEARER: &str = "session";

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A webhook's answer to its sender: taken (applied now, before, or of no concern).
#[derive(serde::Serialize, ToSchema)]
pub struct Received {
    received: bool,
}

impl Received {
    pub const YES: Received = Received { received: true };
}

/// An RFC 9457 problem, as every refusal is answered (R38).
#[derive(serde::Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct Problem {
    /// `https://www.sora2ai.info/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The stable machine code clients branch on.
    #[schema(value_type = ProblemCode)]
    pub code: String,
    /// Only for `sensitive_data_in_prompt`: the kinds found, never the data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::domain::sensitive::SensitiveKind>>)]
    pub kinds: Option<Vec<String>>,
    /// Only for a content refusal (`prompt_rejected`, `image_rejected`,
    /// `minor_in_image`): its id, to appeal it (R46).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal_id: Option<String>,
    /// With `refusal_id`: the rules broken, as categories (`sexual_content`, `nudity`,
    /// `violence`, `hate_symbols`, `drugs`, `minor`, `content_policy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// With `refusal_id`: the page where the person appeals it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal_url: Option<String>,
}

/// The schema of a problem's `code`: the closed set [`ApiError::CODES`], named so that
/// a client can map every code to a sentence and learn of a new one when it is added.
///
/// [`ApiError::CODES`]: crate::edge::problem::ApiError::CODES
pub struct ProblemCode;

impl PartialSchema for ProblemCode {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("The stable machine code of a problem."))
            .enum_values(Some(crate::edge::problem::ApiError::CODES.iter().copied()))
            .into()
    }
}

impl ToSchema for ProblemCode {}

/// A problem response, for `responses(...)` that the operation adds itself.
pub fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// A response with the `Retry-After` header (seconds).
fn with_retry_after(mut response: Response) -> Response {
    response.headers.insert(
        "Retry-After".to_owned(),
        utoipa::openapi::HeaderBuilder::new()
            .schema(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .minimum(Some(1)),
            )
            .description(Some("Seconds to wait before trying again"))
            .build(),
    );
    response
}

/// The whole API from the functions' parts.
pub fn document(parts: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Sora2 AI API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The HTTP API of Sora2 AI. Errors are RFC 9457 problems with a stable `code`.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .schemas_from_iter(shared_schemas())
                .security_scheme(
                    BEARER,
                    SecurityScheme::Http(
                        HttpBuilder::new()
                            .scheme(HttpAuthScheme::Bearer)
                            .description(Some("A session token from sign-in."))
                            .build(),
                    ),
                )
                .build(),
        ))
        .build();
    for part in parts {
        doc.merge(part);
    }
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_shared_answers(op);
        }
    }
    doc
}

/// The problem schema and the schemas it refers to, which every operation shares.
fn shared_schemas() -> Vec<(String, RefOr<utoipa::openapi::schema::Schema>)> {
    let mut schemas = vec![(Problem::name().into_owned(), Problem::schema())];
    <Problem as ToSchema>::schemas(&mut schemas);
    schemas
}

fn add_shared_answers(op: &mut Operation) {
    let signed_in = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    op.responses
        .responses
        .entry("503".to_owned())
        .or_insert_with(|| {
            RefOr::T(with_retry_after(problem_response(
                "`service_unavailable`: a service this request depends on is unavailable; retry after `Retry-After`",
            )))
        });
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(description)));
    };
    if signed_in {
        add("401", "`unauthorized`: no valid session token");
    }
    if has_body {
        add("400", "`malformed_json`: the body is not JSON");
        add("413", "`payload_too_large`: the body is over 64 KiB");
        add(
            "415",
            "`unsupported_media_type`: the body is not `application/json`",
        );
        add(
            "422",
            "`invalid_request`: a field is missing, of the wrong type or out of range",
        );
    }
    if has_path {
        add("404", "`not_found`: no such resource, or not the caller's");
    }
    if has_query {
        add("422", "`invalid_request`: a query parameter does not parse");
    }
}

/// The schema of an email address field: what [`EmailAddress::parse`] accepts.
///
/// [`EmailAddress::parse`]: crate::domain::email::EmailAddress::parse
pub fn email_schema() -> utoipa::openapi::Object {
    use crate::domain::email::{MAX_CHARS, PATTERN};
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(PATTERN))
        .max_length(Some(MAX_CHARS))
        .build()
}

/// An optional email address (`null` or absent means "no change").
pub fn optional_email_schema() -> utoipa::openapi::Object {
    use crate::domain::email::{MAX_CHARS, PATTERN};
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(PATTERN))
        .max_length(Some(MAX_CHARS))
        .build()
}
