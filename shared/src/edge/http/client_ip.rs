//! The caller's IP, for per-IP rate limits (stored there only as a keyed hash) and the
//! usage data of signed-in requests (R22, kept 30 days). It is never logged (R37).

use std::net::{IpAddr, Ipv4Addr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

use crate::edge::problem::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// Whom a per-IP limit counts: an IPv4 address, or the /64 an IPv6 address is in.
    /// One IPv6 subscriber is commonly given a whole /64 (RFC 6177), so counting its
    /// addresses one by one would not limit them at all. An IPv4-mapped address counts
    /// as its IPv4 address.
    pub fn limit_subject(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The local stack inserts the socket's address itself.
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        // In Lambda, API Gateway's own view of the peer: unlike X-Forwarded-For it
        // cannot be set by the client.
        let from_gateway = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref(),
            _ => None,
        };
        Ok(ClientIp(
            from_gateway
                .and_then(|s| s.parse().ok())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r39_ipv6_is_limited_by_its_64_and_ipv4_by_its_address() {
        let subject = |s: &str| ClientIp(s.parse().unwrap()).limit_subject();
        assert_eq!(subject("203.0.113.7"), "203.0.113.7");
        assert_ne!(subject("203.0.113.7"), subject("203.0.113.8"));
        assert_eq!(subject("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            subject("2001:db8:1:2:ffff:eeee:dddd:cccc"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(subject("2001:db8:1:2::1"), subject("2001:db8:1:3::1"));
        assert_eq!(subject("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
