//! The local sensitive-data detector for prompts (R19): finds email addresses, phone
//! numbers, payment card numbers (Luhn), IBANs (mod-97), US SSNs and IP addresses, and
//! names the kinds found — never the data. Plain Rust, no I/O.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A kind of personal data a prompt may not carry; a refusal names the kinds found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SensitiveKind {
    Email,
    Phone,
    CardNumber,
    Iban,
    NationalId,
    IpAddress,
}

impl SensitiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::CardNumber => "card_number",
            Self::Iban => "iban",
            Self::NationalId => "national_id",
            Self::IpAddress => "ip_address",
        }
    }
}

/// The kinds of sensitive data in `text`, sorted and without repeats.
pub fn detect(text: &str) -> Vec<SensitiveKind> {
    let mut found = BTreeSet::new();
    for word in text.split_whitespace() {
        let w = word.trim_matches(|c: char| ",;:!?()[]{}<>\"'".contains(c));
        let w = w.trim_end_matches('.');
        if is_email(w) {
            found.insert(SensitiveKind::Email);
        }
        if is_ip(w) {
            found.insert(SensitiveKind::IpAddress);
        }
        if is_ssn(w) {
            found.insert(SensitiveKind::NationalId);
        }
    }
    // Numbers are often written with spaces or dashes between groups: judge runs of
    // digits joined across those separators.
    let ibans: Vec<String> = iban_candidates(text)
        .into_iter()
        .filter(|c| iban_valid(c))
        .collect();
    if !ibans.is_empty() {
        found.insert(SensitiveKind::Iban);
    }
    for run in digit_runs(text) {
        if run.trim_end_matches('.').parse::<Ipv4Addr>().is_ok() {
            continue; // an IP address, found above
        }
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        if ibans.iter().any(|iban| iban.contains(&digits)) {
            continue; // the digit groups of an IBAN
        }
        if (13..=19).contains(&digits.len()) && luhn(&digits) {
            found.insert(SensitiveKind::CardNumber);
        } else if looks_like_phone(&run, &digits) {
            found.insert(SensitiveKind::Phone);
        }
    }
    found.into_iter().collect()
}

fn is_email(w: &str) -> bool {
    let Some((local, domain)) = w.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "._%+-".contains(c))
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

fn is_ip(w: &str) -> bool {
    if w.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    // IPv6 needs at least two colons and a hex digit, so times like 10:30 are not one.
    w.matches(':').count() >= 2
        && w.chars().any(|c| c.is_ascii_hexdigit())
        && w.parse::<Ipv6Addr>().is_ok()
}

/// A US SSN written as AAA-GG-SSSS, with the number ranges the SSA never issues excluded.
fn is_ssn(w: &str) -> bool {
    let parts: Vec<&str> = w.split('-').collect();
    if parts.len() != 3
        || [3, 2, 4] != [parts[0].len(), parts[1].len(), parts[2].len()]
        || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let area: u32 = parts[0].parse().unwrap_or(0);
    area != 0 && area != 666 && area < 900 && parts[1] != "00" && parts[2] != "0000"
}

/// Maximal runs of digits, possibly separated by single spaces, dashes, dots or
/// parentheses, and possibly starting with `+`.
fn digit_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let is_sep = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')');
        // At most two separators between groups: "555-2671", "(415) 555".
        let joins = is_sep(c)
            && !current.is_empty()
            && (chars.get(i + 1).is_some_and(char::is_ascii_digit)
                || (chars.get(i + 1).copied().is_some_and(is_sep)
                    && chars.get(i + 2).is_some_and(char::is_ascii_digit)));
        if c.is_ascii_digit()
            || (c == '+' && current.is_empty())
            || (c == '(' && current.is_empty())
            || joins
        {
            current.push(c);
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Phone numbers: 10 to 15 digits, written with a leading `+` or with the group
/// separators people use for phones. Plain long numbers (years, counts) are not phones.
fn looks_like_phone(run: &str, digits: &str) -> bool {
    let n = digits.len();
    if !(10..=15).contains(&n) {
        return false;
    }
    let separated = run.contains(['-', ' ', '(', '.']);
    run.starts_with('+') || separated
}

/// Two letters, two digits, then 11–30 letters or digits, in groups or not.
fn iban_candidates(text: &str) -> Vec<String> {
    let compact: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= compact.len() {
        let start_ok = i == 0 || !compact[i - 1].is_ascii_alphanumeric();
        if start_ok
            && compact[i].is_ascii_uppercase()
            && compact[i + 1].is_ascii_uppercase()
            && compact[i + 2].is_ascii_digit()
            && compact[i + 3].is_ascii_digit()
        {
            let mut s = String::new();
            let mut j = i;
            while j < compact.len() {
                let c = compact[j];
                if c.is_ascii_alphanumeric() {
                    s.push(c.to_ascii_uppercase());
                } else if c == ' ' && compact.get(j + 1).is_some_and(char::is_ascii_alphanumeric) {
                    // groups of four separated by single spaces
                } else {
                    break;
                }
                j += 1;
                if s.len() >= 34 {
                    break;
                }
            }
            // Try every length, since the words after an IBAN may join the run.
            for len in 15..=s.len().min(34) {
                out.push(s[..len].to_owned());
            }
        }
        i += 1;
    }
    out
}

fn iban_valid(iban: &str) -> bool {
    if !(15..=34).contains(&iban.len()) {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        // Letters stand for two digits.
        let digits = if value >= 10 { 2 } else { 1 };
        remainder = (remainder * 10u32.pow(digits) + value) % 97;
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::SensitiveKind::*;
    use super::*;

    #[test]
    fn r19_the_documented_kinds_are_the_names_a_refusal_sends() {
        let schema = serde_json::to_value(<SensitiveKind as utoipa::PartialSchema>::schema())
            .expect("a schema serialises");
        let names: Vec<&str> = [Email, Phone, CardNumber, Iban, NationalId, IpAddress]
            .into_iter()
            .map(SensitiveKind::as_str)
            .collect();
        assert_eq!(schema["enum"], serde_json::json!(names));
    }

    #[test]
    fn r19_each_kind_is_found() {
        assert_eq!(
            detect("mail me at jane.doe@example.org please"),
            vec![Email]
        );
        assert_eq!(detect("call +1 415 555 2671 now"), vec![Phone]);
        assert_eq!(detect("call (415) 555-2671"), vec![Phone]);
        assert_eq!(
            detect("card 4111 1111 1111 1111 exp 12/29"),
            vec![CardNumber]
        );
        assert_eq!(detect("card 4111-1111-1111-1111"), vec![CardNumber]);
        assert_eq!(
            detect("pay to DE89 3704 0044 0532 0130 00 today"),
            vec![Iban]
        );
        assert_eq!(detect("iban GB82WEST12345698765432"), vec![Iban]);
        assert_eq!(detect("IBAN GB82 WEST 1234 5698 7654 32"), vec![Iban]);
        assert_eq!(detect("my ssn is 123-45-6789"), vec![NationalId]);
        assert_eq!(detect("server at 192.168.10.20."), vec![IpAddress]);
        assert_eq!(detect("v6 2001:db8::8a2e:370:7334"), vec![IpAddress]);
    }

    #[test]
    fn r19_lookalikes_are_not_flagged() {
        for clean in [
            "a cat surfing a wave at sunset, 4k, 35mm film",
            "the year 1999 and 2024 in 16:9 at 10:30",
            "card 4111 1111 1111 1112",        // fails Luhn
            "DE89 3704 0044 0532 0130 01",     // fails mod-97
            "ssn 000-12-3456 and 666-12-3456", // never issued
            "version 1.2.3 and 999.1.1.1",
            "a @ sign and user@localhost",
            "1234567890123", // a bare number, not Luhn-valid
        ] {
            assert_eq!(detect(clean), Vec::<SensitiveKind>::new(), "{clean}");
        }
    }

    #[test]
    fn r19_several_kinds_are_named_once_each() {
        let found = detect("a@b.co, c@d.io and 4111111111111111 or 10.0.0.1");
        assert_eq!(found, vec![Email, CardNumber, IpAddress]);
    }
}
