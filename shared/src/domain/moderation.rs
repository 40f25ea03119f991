//! Content refusals, their statement of reasons and their appeals (R45, R46), and the
//! judgment of an image from what the screening found. Plain Rust, no I/O.
//!
//! A refusal names the rule broken as one of our categories, never the detector's
//! labels, scores or model: those are its internals, and would teach how to pass it.

use chrono::{DateTime, Utc};

use crate::domain::ids::{AccountId, JobId};

/// What was refused or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// A prompt refused by moderation at submission (nothing charged).
    Prompt,
    /// An image refused by screening at submission (nothing charged, the image deleted).
    Image,
    /// An image in which someone appears to be a minor (R45).
    Minor,
    /// A video the provider's moderation refused after it was accepted (refunded).
    Output,
    /// A video an operator removed (R20).
    Removal,
}

impl RefusalKind {
    pub const ALL: [Self; 5] = [
        Self::Prompt,
        Self::Image,
        Self::Minor,
        Self::Output,
        Self::Removal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prompt => "prompt",
            Self::Image => "image",
            Self::Minor => "minor",
            Self::Output => "output",
            Self::Removal => "removal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether it counts toward suspension (R20, R45): what the person sent was
    /// refused. A provider's refusal or an operator's removal is counted by neither:
    /// the operator suspends by hand when it is warranted.
    pub fn is_violation(self) -> bool {
        matches!(self, Self::Prompt | Self::Image | Self::Minor)
    }
}

/// The categories a refusal may name: the policy's content restrictions, in our words.
pub mod category {
    pub const SEXUAL_CONTENT: &str = "sexual_content";
    pub const NUDITY: &str = "nudity";
    pub const VIOLENCE: &str = "violence";
    pub const HATE_SYMBOLS: &str = "hate_symbols";
    pub const DRUGS: &str = "drugs";
    pub const MINOR: &str = "minor";
    /// A prompt refused by moderation: its decision names no category.
    pub const PROMPT_POLICY: &str = "content_policy";
    /// What a provider refused: it names no category either.
    pub const PROVIDER_POLICY: &str = "content_policy";
    /// Every category an operator may name when removing a video: the policy's
    /// "Content Restrictions" list, one word each.
    pub const REMOVAL_RULES: &[&str] = &[
        "illegal_activity",
        "harmful_or_hateful",
        "sexual_content",
        "child_exploitation",
        "animal_cruelty",
        "intellectual_property",
        "likeness_misuse",
        "deceptive_content",
        "malicious_deepfake",
        "privacy_violation",
        "self_harm",
        "spam_or_malware",
        "impersonation",
        "content_policy",
    ];
}

/// One refusal or removal, as kept for its statement of reasons and its appeal: the id,
/// the rule and the time, never the image or the prompt (R46).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub id: String,
    pub account_id: AccountId,
    pub kind: RefusalKind,
    pub categories: Vec<String>,
    pub at: DateTime<Utc>,
    /// The video it is about: the job that was refused, removed, or (at submission)
    /// would have been made.
    pub video_id: JobId,
    /// Credits the refusal took and did not give back (a ready video an operator
    /// removed): an upheld appeal returns them. 0 for every refusal that refunded or
    /// charged nothing.
    pub credits: i64,
}

pub const REFUSAL_ID_PREFIX: &str = "ref_";
pub const APPEAL_ID_PREFIX: &str = "apl_";

/// The refusal's id, derived from the video it is about: a resent submission (the same
/// `Idempotency-Key`, so the same job id) finds its refusal instead of making another,
/// and a video's refusal is found from the video's id.
pub fn refusal_id(video_id: &str) -> String {
    let digest = crate::domain::crypto::sha256_hex(&format!("refusal\0{video_id}"));
    format!("{REFUSAL_ID_PREFIX}{}", &digest[..32])
}

/// The appeal's id, derived from the refusal: one appeal per refusal, so a resent
/// appeal is the same one.
pub fn appeal_id(refusal_id: &str) -> String {
    let digest = crate::domain::crypto::sha256_hex(&format!("appeal\0{refusal_id}"));
    format!("{APPEAL_ID_PREFIX}{}", &digest[..32])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealStatus {
    Open,
    Upheld,
    Rejected,
}

impl AppealStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Upheld => "upheld",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Upheld, Self::Rejected]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// An appeal against a refusal or a removal (R46).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appeal {
    pub id: String,
    pub account_id: AccountId,
    pub refusal_id: String,
    /// The person's words (personal data: exported, erased, kept as the refusal).
    pub message: String,
    pub status: AppealStatus,
    /// The operator's reason, once decided (sent to the person).
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub due_by: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// The longest appeal message, in characters.
pub const APPEAL_MESSAGE_MAX: usize = 2000;

/// What the screening of an image found: moderation labels (name, parent, confidence
/// in percent) and the apparent age range of each face.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    pub labels: Vec<Label>,
    pub faces: Vec<AgeRange>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub name: String,
    pub parent: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeRange {
    pub low: u32,
    pub high: u32,
}

impl AgeRange {
    /// The middle of the range, in half years (so 15–20 is 35, 17.5 years).
    fn midpoint_halves(self) -> u32 {
        self.low + self.high
    }
}

/// What is decided about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageVerdict {
    Clear,
    /// Refused for these categories (sorted, each once).
    Rejected(Vec<&'static str>),
    /// Someone in it appears to be a minor: refused whatever the statement says.
    Minor,
    /// A face, and no statement that the person may use its likeness.
    NeedsLikenessStatement,
}

/// How images are judged: the policy module's numbers (R45).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningRules {
    /// Labels below this confidence (percent) are not acted on.
    pub min_confidence: u32,
    /// A face whose apparent age range's midpoint is below this is taken for a minor's.
    pub adult_age: u32,
    /// Moderation labels (either of Rekognition's taxonomies, any level) → our
    /// category; a label not listed (swimwear, alcohol, gambling, rude gestures) is
    /// not refused.
    pub refused: &'static [(&'static str, &'static str)],
}

/// Rekognition's top-level moderation labels we refuse, in both of its taxonomies (model
/// 7.0, answered since May 2024, and 6.1, whose names differ), each with our category.
/// A label is refused when its own name or its parent's is here: Rekognition answers
/// every detected label's top-level label as well (`ParentName` ""), so second- and
/// third-level names, which its own documents spell more than one way, are not relied
/// on. Not refused: swimwear or underwear, suggestive, alcohol, tobacco alone, gambling,
/// rude gestures. Sources: Amazon Rekognition Developer Guide, "Moderating content"
/// (moderation-api.html) and "Transforming the moderation response" (model 6.1 → 7.0,
/// moderation-response-transform.html); read 2026-12-07.
pub const REFUSED_LABELS: &[(&str, &str)] = {
    use category::*;
    &[
        // Model 7.0.
        ("Explicit", SEXUAL_CONTENT),
        ("Non-Explicit Nudity of Intimate parts and Kissing", NUDITY),
        ("Violence", VIOLENCE),
        ("Visually Disturbing", VIOLENCE),
        ("Drugs & Tobacco", DRUGS),
        ("Hate Symbols", HATE_SYMBOLS),
        // Model 6.1 (Violence, Visually Disturbing and Hate Symbols as above).
        ("Explicit Nudity", SEXUAL_CONTENT),
        ("Drugs", DRUGS),
    ]
};

impl ScreeningRules {
    /// The category a label is refused under, if any.
    fn category_of(&self, label: &Label) -> Option<&'static str> {
        self.refused
            .iter()
            .find(|(name, _)| *name == label.name || *name == label.parent)
            .map(|(_, c)| *c)
    }

    /// R45: refused categories first (they count, whatever else), then a minor, then
    /// a face without the person's statement.
    pub fn judge(&self, found: &Findings, likeness_confirmed: bool) -> ImageVerdict {
        let mut categories: Vec<&'static str> = found
            .labels
            .iter()
            .filter(|l| l.confidence >= self.min_confidence as f32)
            .filter_map(|l| self.category_of(l))
            .collect();
        categories.sort_unstable();
        categories.dedup();
        if !categories.is_empty() {
            return ImageVerdict::Rejected(categories);
        }
        if found
            .faces
            .iter()
            .any(|f| f.midpoint_halves() < 2 * self.adult_age)
        {
            return ImageVerdict::Minor;
        }
        if !found.faces.is_empty() && !likeness_confirmed {
            return ImageVerdict::NeedsLikenessStatement;
        }
        ImageVerdict::Clear
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ScreeningRules {
        ScreeningRules {
            min_confidence: 75,
            adult_age: 18,
            refused: REFUSED_LABELS,
        }
    }

    fn label(name: &str, parent: &str, confidence: f32) -> Label {
        Label {
            name: name.into(),
            parent: parent.into(),
            confidence,
        }
    }

    #[test]
    fn r45_refused_labels_name_our_categories_never_the_detectors() {
        let found = Findings {
            labels: vec![
                label("Explicit Nudity", "Explicit", 99.0),
                label("Explicit", "", 99.0),
                label("Graphic Violence", "Violence", 91.0),
                // Below the confidence, and a category we do not refuse.
                label("Hate Symbols", "", 40.0),
                label("Swimwear or Underwear", "", 99.0),
                label("Alcohol", "", 99.0),
            ],
            faces: vec![AgeRange { low: 30, high: 34 }],
        };
        assert_eq!(
            rules().judge(&found, true),
            ImageVerdict::Rejected(vec!["sexual_content", "violence"])
        );
        // A level-3 label is refused through its parent.
        let child = Findings {
            labels: vec![label("Something New", "Hate Symbols", 90.0)],
            faces: vec![],
        };
        assert_eq!(
            rules().judge(&child, false),
            ImageVerdict::Rejected(vec!["hate_symbols"])
        );
    }

    #[test]
    fn r45_a_face_mostly_under_18_is_a_minor_whatever_the_statement() {
        let faces = |ranges: &[(u32, u32)]| Findings {
            labels: vec![],
            faces: ranges
                .iter()
                .map(|&(low, high)| AgeRange { low, high })
                .collect(),
        };
        // 15–20: the middle is 17.5, under 18.
        assert_eq!(
            rules().judge(&faces(&[(40, 44), (15, 20)]), true),
            ImageVerdict::Minor
        );
        // 16–20: the middle is 18.
        assert_eq!(
            rules().judge(&faces(&[(16, 20)]), true),
            ImageVerdict::Clear
        );
        assert_eq!(
            rules().judge(&faces(&[(16, 20)]), false),
            ImageVerdict::NeedsLikenessStatement
        );
        assert_eq!(rules().judge(&faces(&[]), false), ImageVerdict::Clear);
    }

    #[test]
    fn ids_follow_their_cause() {
        let r = refusal_id("vid_1");
        assert_eq!(r, refusal_id("vid_1"));
        assert_ne!(r, refusal_id("vid_2"));
        assert!(crate::domain::video::is_id(REFUSAL_ID_PREFIX, &r));
        assert!(crate::domain::video::is_id(
            APPEAL_ID_PREFIX,
            &appeal_id(&r)
        ));
        for k in RefusalKind::ALL {
            assert_eq!(RefusalKind::parse(k.as_str()), Some(k));
        }
    }
}
