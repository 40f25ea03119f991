//! Where a provider's output may be downloaded from (R13, R38). The output's address
//! comes from the provider's answer: fetching whatever it names would let a bad answer
//! (or a compromised provider) make our function reach our own network — the metadata
//! endpoint, loopback, a private address — or anywhere else. So an output is fetched
//! only over https, from a host on the provider's configured list (or a subdomain of
//! one), named by a domain, never by an IP address; and a redirect is followed only to
//! such a host. The one exception is the configured local emulator, over plain http,
//! at the exact origin of the provider's configured queue URL.

use reqwest::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputHosts {
    /// Domains whose hosts (and subdomains) serve outputs, such as `fal.media`.
    hosts: Vec<String>,
    /// The configured base URL of the provider when it is a plain-http local
    /// emulator: its origin is allowed as it is.
    local_origin: Option<(String, String, Option<u16>)>,
}

impl OutputHosts {
    /// `hosts`: a comma-separated list of domains; `base_url`: the provider's
    /// configured API URL (only a plain-http one adds its origin).
    pub fn new(hosts: &str, base_url: &str) -> Self {
        let local_origin = Url::parse(base_url)
            .ok()
            .filter(|u| u.scheme() == "http")
            .map(|u| {
                (
                    u.scheme().to_owned(),
                    u.host_str().unwrap_or_default().to_owned(),
                    u.port_or_known_default(),
                )
            });
        Self {
            hosts: hosts
                .split(',')
                .map(|h| h.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            local_origin,
        }
    }

    /// Whether `url` may be fetched.
    pub fn allows(&self, url: &Url) -> bool {
        if let Some((scheme, host, port)) = &self.local_origin
            && url.scheme() == scheme
            && url.host_str() == Some(host.as_str())
            && url.port_or_known_default() == *port
        {
            return true;
        }
        if url.scheme() != "https" || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        // A domain, never an IP literal (private, loopback, link-local or any other).
        let Some(url::Host::Domain(host)) = url.host() else {
            return false;
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            return false;
        }
        self.hosts
            .iter()
            .any(|h| host == *h || host.ends_with(&format!(".{h}")))
    }

    pub fn allows_str(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|u| self.allows(&u))
    }

    /// The redirect policy of the download client: a redirect is followed only to an
    /// allowed address on the same host, at most three times.
    pub fn redirect_policy(&self) -> reqwest::redirect::Policy {
        let this = self.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            let same_host = attempt
                .previous()
                .last()
                .is_some_and(|p| p.host_str() == attempt.url().host_str());
            if attempt.previous().len() <= 3 && same_host && this.allows(attempt.url()) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        })
    }
}

/// Fetches a provider's outputs: only from its [`OutputHosts`], following a redirect
/// only to them, as a stream of chunks (never whole in memory). One client per
/// provider, made on first use.
pub struct Downloads {
    outputs: OutputHosts,
    provider: &'static str,
    client: std::sync::OnceLock<reqwest::Client>,
}

impl Downloads {
    pub fn new(provider: &'static str, outputs: OutputHosts) -> Self {
        Self {
            outputs,
            provider,
            client: std::sync::OnceLock::new(),
        }
    }

    pub async fn fetch(
        &self,
        url: &str,
    ) -> Result<super::video::ByteStream, super::video::ProviderError> {
        use super::video::ProviderError;
        use futures_util::StreamExt;
        if !self.outputs.allows_str(url) {
            return Err(ProviderError::Failed(format!(
                "the output is not at a place {} serves outputs from",
                self.provider
            )));
        }
        let client = self.client.get_or_init(|| {
            crate::adapters::outbound::install_crypto();
            reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(3))
                .redirect(self.outputs.redirect_policy())
                .build()
                .unwrap_or_default()
        });
        let transient = |e: reqwest::Error| ProviderError::Transient(e.without_url().to_string());
        let res = client.get(url).send().await.map_err(transient)?;
        if res.status().is_redirection() {
            return Err(ProviderError::Failed(
                "the output redirects to another place".into(),
            ));
        }
        if !res.status().is_success() {
            return Err(ProviderError::Transient(format!(
                "download answered {}",
                res.status()
            )));
        }
        Ok(Box::pin(
            res.bytes_stream().map(move |r| r.map_err(transient)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(hosts: &OutputHosts, url: &str) -> bool {
        hosts.allows_str(url)
    }

    #[test]
    fn r38_only_https_on_the_providers_domains() {
        let h = OutputHosts::new("fal.media, fal.run", "https://queue.fal.run");
        assert!(allows(&h, "https://v3.fal.media/files/x.mp4"));
        assert!(allows(&h, "https://fal.media/files/x.mp4"));
        assert!(allows(&h, "https://V3.FAL.MEDIA./files/x.mp4"));
        for refused in [
            "http://v3.fal.media/files/x.mp4",
            "https://evil.example/x.mp4",
            "https://fal.media.evil.example/x.mp4",
            "https://notfal.media/x.mp4",
            "https://127.0.0.1/x.mp4",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/x.mp4",
            "https://10.0.0.7/x.mp4",
            "https://localhost/x.mp4",
            "https://user:pw@v3.fal.media/x.mp4",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(!allows(&h, refused), "{refused}");
        }
    }

    #[test]
    fn r38_a_plain_http_emulator_is_allowed_at_its_exact_origin_only() {
        let h = OutputHosts::new("fal.media", "http://127.0.0.1:3000/_local/fal");
        assert!(allows(&h, "http://127.0.0.1:3000/_local/fal/files/x.mp4"));
        assert!(!allows(&h, "http://127.0.0.1:3001/x.mp4"), "another port");
        assert!(!allows(&h, "http://127.0.0.2:3000/x.mp4"), "another host");
        assert!(
            !allows(&h, "https://127.0.0.1:3000/x.mp4"),
            "an IP over https"
        );
        let deployed = OutputHosts::new("fal.media", "https://queue.fal.run");
        assert!(!allows(
            &deployed,
            "http://127.0.0.1:3000/_local/fal/files/x.mp4"
        ));
    }
}
