//! A secret read at start (an API key, a signing secret, the key of the keyed hashes):
//! held in a type that never prints it. `Debug` shows only that it is there, there is
//! no `Display` and no `Serialize`, so a secret can reach a log line or an answer only
//! through an explicit [`Secret::expose`] at the one place that sends or uses it.

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the header, the signature or the hash that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r37_a_secret_never_prints() {
        let s = Secret::new("r8_a-real-looking-token-1234");
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("r8_"), "{shown}");
        assert!(!shown.contains("1234"), "{shown}");
        assert_eq!(s.expose(), "r8_a-real-looking-token-1234");
        assert_eq!(s.len(), 28);
    }
}
