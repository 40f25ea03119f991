//! The credit ledger's vocabulary (R11). Every entry is keyed by its cause, so writing
//! it twice is impossible: the second write fails its "must be new" condition.

/// What a ledger entry did to the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = LedgerEntryKind, rename_all = "lowercase")]
pub enum EntryKind {
    /// Free credits (the sign-up grant).
    Grant,
    /// Credits bought.
    Purchase,
    /// A generation's cost.
    Debit,
    /// A failed, rejected or cancelled generation's cost, given back.
    Refund,
    /// A refunded or charged-back payment's credits, taken back.
    Clawback,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Purchase => "purchase",
            Self::Debit => "debit",
            Self::Refund => "refund",
            Self::Clawback => "clawback",
        }
    }

    /// The sign of the entry's effect on the balance.
    pub fn signed(self, amount: i64) -> i64 {
        match self {
            Self::Grant | Self::Purchase | Self::Refund => amount.abs(),
            Self::Debit | Self::Clawback => -amount.abs(),
        }
    }
}

/// The entry id of an effect: one cause, one entry.
pub fn entry_id(kind: EntryKind, cause: &str) -> String {
    format!("{}:{cause}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r11_the_documented_kinds_are_the_names_entries_are_stored_under() {
        let schema = serde_json::to_value(<EntryKind as utoipa::PartialSchema>::schema())
            .expect("a schema serialises");
        let names: Vec<&str> = [
            EntryKind::Grant,
            EntryKind::Purchase,
            EntryKind::Debit,
            EntryKind::Refund,
            EntryKind::Clawback,
        ]
        .into_iter()
        .map(EntryKind::as_str)
        .collect();
        assert_eq!(schema["enum"], serde_json::json!(names));
    }

    #[test]
    fn r11_entries_have_their_sign_and_one_id_per_cause() {
        let b: i64 = [
            (EntryKind::Grant, 3),
            (EntryKind::Debit, 2),
            (EntryKind::Refund, 2),
            (EntryKind::Debit, -1),
        ]
        .into_iter()
        .map(|(k, a)| k.signed(a))
        .sum();
        assert_eq!(b, 2);
        assert_eq!(entry_id(EntryKind::Refund, "vid_1"), "refund:vid_1");
        assert_ne!(
            entry_id(EntryKind::Debit, "vid_1"),
            entry_id(EntryKind::Refund, "vid_1")
        );
    }
}
