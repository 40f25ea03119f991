//! The AWS SDK's HTTP client, over the same HTTP stack as the third parties' (reqwest:
//! HTTP/1.1, rustls over ring). The SDK's own client would bring a second TLS and
//! HTTP/2 stack into every binary, which AWS's endpoints do not need; one stack keeps
//! the functions small and their cold starts short.
//!
//! The SDK stays in charge of everything above one attempt (signing, retries, the
//! attempt's deadline); this only sends a request and streams the answer back, and
//! says which failures are worth retrying (timeouts, broken connections).

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// The one client every AWS client of the process sends through.
#[derive(Debug, Clone)]
struct Reqwest(reqwest::Client);

impl HttpConnector for Reqwest {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = request.into_parts();
            let request = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(reqwest::Body::wrap(body))
                .build()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let response = client.execute(request).await.map_err(failure)?;
            let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
            HttpResponse::try_from(http::Response::from_parts(
                parts,
                SdkBody::from_body_1_x(body),
            ))
            .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// How the SDK should treat a failed attempt: a timeout or a broken or refused
/// connection is retried; anything else is not.
fn failure(e: reqwest::Error) -> ConnectorError {
    let e = e.without_url();
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

impl HttpClient for Reqwest {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // One connection pool for every client and operation; the SDK enforces the
        // attempt's deadline itself, and the connect timeout is the client's.
        SharedHttpConnector::new(self.clone())
    }
}

/// The HTTPS client of every AWS client: TLS that trusts only `roots` (PEM), connect
/// timeout `connect`.
pub fn client(roots: &[u8], connect: Duration) -> SharedHttpClient {
    super::outbound::install_crypto();
    let roots = reqwest::Certificate::from_pem_bundle(roots).expect("a fixed, valid bundle");
    let client = reqwest::Client::builder()
        .tls_certs_only(roots)
        .connect_timeout(connect)
        // The SDK reads S3's redirects (a bucket in another region) itself.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client from fixed settings");
    SharedHttpClient::new(Reqwest(client))
}
