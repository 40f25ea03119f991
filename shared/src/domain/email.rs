//! Email addresses as account keys (R01): trimmed, lower-cased, sanity-checked.

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid email address")]
pub struct InvalidEmail;

/// The shape accepted, as the API's schema states it (`pattern` of `email`): optional
/// surrounding blanks; a local part of 1–64 characters of RFC 5322's `atext` and dots,
/// neither first nor last (what mail systems take unquoted); a domain of ASCII letters,
/// digits and hyphens in two or more dot-separated labels. At most [`MAX_CHARS`]
/// characters in all.
pub const PATTERN: &str = r"^[ \t\r\n]*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{0,62}[A-Za-z0-9!#$%&'*+/=?^_`{|}~-])?@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+[ \t\r\n]*$";
pub const MAX_CHARS: usize = 254;

/// RFC 5322 `atext`: the characters of an unquoted local part besides the dot.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b)
}

impl EmailAddress {
    /// Normalises (trim, lower-case: one account per address whatever its spelling)
    /// and checks the shape of [`PATTERN`]. Deliverability is proven by the code sent
    /// to it. Internationalised domains come as their ASCII (punycode) form.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        if raw.chars().count() > MAX_CHARS {
            return Err(InvalidEmail);
        }
        let email = raw
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
            .to_ascii_lowercase();
        let (local, domain) = email.split_once('@').ok_or(InvalidEmail)?;
        let local_ok = (1..=64).contains(&local.len())
            && local.bytes().all(|b| is_atext(b) || b == b'.')
            && !local.starts_with('.')
            && !local.ends_with('.');
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !local_ok || !domain_ok {
            return Err(InvalidEmail);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r01_email_is_trimmed_and_case_insensitive() {
        let a = EmailAddress::parse("  Alice.Smith@Example.COM ").unwrap();
        let b = EmailAddress::parse("alice.smith@example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "alice.smith@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@.example.com",
            "a@example..com",
            "a@example.com.",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(300))).is_err());
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(
            EmailAddress::parse("a@bü.com").is_err(),
            "IDN domains come as punycode"
        );
        assert!(EmailAddress::parse("a@xn--b-tqa.com").is_ok());
        for bad in [
            "a;b@x.com",
            ".a@x.com",
            "a.@x.com",
            "a\"b@x.com",
            "a(b)@x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(EmailAddress::parse("o'brien+tag@x.com").is_ok());
    }
}
