//! Files and bytes the tests make or read: a PNG, an MP4's boxes, the workspace, the
//! template.

/// Where the top-level box `kind` (`b"mdat"`, …) of an MP4 lies, header included.
pub fn mp4_box(mp4: &[u8], kind: &[u8; 4]) -> std::ops::Range<usize> {
    let mut at = 0;
    while at + 8 <= mp4.len() {
        let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
        if &mp4[at + 4..at + 8] == kind {
            return at..at + size;
        }
        assert!(size >= 8, "a box this walk cannot read");
        at += size;
    }
    panic!("no {} box", String::from_utf8_lossy(kind));
}

/// A real PNG (80 × 80 grey, the smallest Rekognition reads) that the local screening
/// finds nothing in.
pub fn png_bytes() -> Vec<u8> {
    screened_png(None)
}

/// A real 80 × 80 PNG with, when given, the `tEXt` chunk `local-screening` that the
/// local Rekognition answers from (`labels=Explicit Nudity,Violence;faces=34,9`).
pub fn screened_png(screening: Option<&str>) -> Vec<u8> {
    local_stack::images::png(screening)
}

/// How long an item is kept: its TTL less the time it was written.
pub fn kept_for(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> i64 {
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    ttl - shared::domain::clock::epoch_of(item["at"].as_s().unwrap()).unwrap()
}

/// The workspace's root folder.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The template as a YAML document, through the one YAML reader.
pub fn template_yaml() -> local_stack::template::Value {
    local_stack::template::Template::load()
        .unwrap()
        .root()
        .clone()
}
