//! Where a provider's output may be downloaded from (R13, R38). The output's address
//! comes from the provider's answer: fetching whatever it names would let a bad answer
//! (or a compromised provider) make our function reach our own network — the metadata
//! endpoint, loopback, a private address — or anywhere else. So an output is fetched
//! only over https, from a host on the provider's configured list (or a subdomain of
//! one), named by a domain, never by an IP address; and a redirect is followed only to
//! such a host. The one exception is the configured local emulator, over plain http,
//! at the exact origin of the provider's configured queue URL. And since a listed name
//! may still resolve to our own network (a hijacked record, a provider's mistake), the
//! download client resolves names itself and connects only to public addresses, for
//! the first request and every redirect alike ([`PublicOnly`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

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

/// Whether `ip` is an address of the public internet: not loopback, private, link-local,
/// unique-local, shared (carrier-grade NAT), unspecified, broadcast or multicast, in
/// IPv4 or IPv6 (an IPv4-mapped address is judged as its IPv4 address).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// The download client's resolver: the system's answer, without the addresses that are
/// not public ([`is_public`]); a name with none left is not fetched. The configured
/// local emulator's host is the one exception (it is reached as the operator set it).
pub struct PublicOnly {
    local_host: Option<String>,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let local = self.local_host.as_deref() == Some(host.as_str());
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| local || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err("the name resolves to no public address".into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
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
                .dns_resolver(Arc::new(PublicOnly {
                    local_host: self
                        .outputs
                        .local_origin
                        .as_ref()
                        .map(|(_, h, _)| h.clone()),
                }))
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

    #[test]
    fn r38_only_public_addresses_are_connected_to() {
        let public = |s: &str| is_public(s.parse().unwrap());
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!public(refused), "{refused}");
        }
        for allowed in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(allowed), "{allowed}");
        }
    }

    #[tokio::test]
    async fn r38_a_name_that_resolves_to_loopback_is_not_fetched() {
        use reqwest::dns::Resolve;
        let resolver = PublicOnly { local_host: None };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(resolver.resolve(name).await.is_err());
        // The configured local emulator's own host is the one exception.
        let local = PublicOnly {
            local_host: Some("localhost".into()),
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(local.resolve(name).await.is_ok());
    }

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
