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

/// A small but real PNG header followed by filler: enough for the type check.
pub fn png_bytes() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(&[0u8; 64]);
    v
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
