//! The ids that cross layers, as types: an account's id and a video job's id cannot be
//! passed one for the other, nor a prompt or an address for either. Each reads as the
//! text it is (`Deref<Target = str>`), so storage keys, logs and views take it as they
//! took the string; it is made only from an id read from storage, a session or a
//! request path, or minted by `new_account_id` / `job_id`.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id `raw` names (read from storage, a session or a path).
            pub fn new(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

id_type!(
    /// An account's id (`acc_…`), or the pseudonym that replaced it (`anon_…`, R28).
    AccountId
);
id_type!(
    /// A video job's id (`vid_…`).
    JobId
);

impl JobId {
    /// The job id `raw` is, if it has a job id's shape (from a request path or a
    /// message): anything else names no job.
    pub fn parse(raw: &str) -> Option<Self> {
        super::video::is_id(super::video::JOB_ID_PREFIX, raw).then(|| Self(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_as_its_text_and_serialises_as_it() {
        let id = JobId::new("vid_1");
        assert_eq!(&*id, "vid_1");
        assert_eq!(id, "vid_1");
        assert_eq!(id.to_string(), "vid_1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"vid_1\"");
        let back: AccountId = serde_json::from_str("\"acc_1\"").unwrap();
        assert_eq!(back.as_str(), "acc_1");
        let minted = super::super::video::job_id("acc_1", None);
        assert_eq!(JobId::parse(&minted).as_deref(), Some(minted.as_str()));
        assert_eq!(JobId::parse("vid_../../x"), None);
    }
}
