//! The direction of dependencies, read from the source: `domain` imports nothing else of
//! the crate and no I/O library; `adapters` imports only `domain`; `app` only `domain`
//! and `adapters`; `edge` anything. A new module that breaks the rule fails here.

use std::path::{Path, PathBuf};

const LAYERS: [&str; 4] = ["domain", "adapters", "app", "edge"];

/// Libraries that do I/O or speak HTTP/AWS: none of them in `domain`.
const IO_CRATES: [&str; 9] = [
    "aws_sdk_",
    "aws_config",
    "aws_lambda_events",
    "reqwest",
    "axum",
    "lambda_http",
    "lambda_runtime",
    "tokio",
    "std::env",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer a file belongs to: `src/<layer>.rs` or `src/<layer>/…`.
fn layer_of(src: &Path, file: &Path) -> Option<usize> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    LAYERS.iter().position(|l| *l == name)
}

/// The layers a grouped import names: `use crate::{adapters::x, domain::{y, z}}` names
/// `adapters` and `domain` (the first segment of each path in the outer braces).
fn grouped_layers(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::{") {
        rest = &rest[at + "crate::{".len()..];
        // The outer braces' items, split at their own commas.
        let (mut depth, mut start, mut items) = (1, 0, Vec::new());
        for (i, c) in rest.char_indices() {
            match c {
                '{' => depth += 1,
                '}' | ',' if depth == 1 => {
                    items.push(&rest[start..i]);
                    start = i + 1;
                    if c == '}' {
                        break;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        for item in items {
            let first = item.trim().split("::").next().unwrap_or_default();
            found.extend(LAYERS.iter().filter(|l| **l == first));
        }
    }
    found
}

#[test]
fn a_grouped_import_is_read_as_its_layers() {
    assert_eq!(
        grouped_layers("use crate::{adapters::dynamo::Tx, domain::{clock, policy}};"),
        ["adapters", "domain"]
    );
    assert_eq!(
        grouped_layers("use crate::{\n    edge::http,\n};"),
        ["edge"]
    );
    assert!(grouped_layers("use crate::adapters::x;").is_empty());
}

/// The code above the stores (the functions, `app`, the operator's tool) never holds
/// DynamoDB's SDK: key shapes, conditions and transactions are the stores' and `Tx`'s.
#[test]
fn only_the_adapters_speak_to_dynamodb() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root.join("shared/src/app"), &mut files);
    rust_files(&root.join("operator/src"), &mut files);
    for entry in std::fs::read_dir(root.join("functions")).unwrap() {
        rust_files(&entry.unwrap().path().join("src"), &mut files);
    }
    assert!(files.len() > 30, "only {} files found", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            assert!(
                !code.contains("aws_sdk_dynamodb"),
                "{}:{}: DynamoDB's SDK outside the adapters",
                file.display(),
                n + 1
            );
        }
    }
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
    for file in files {
        let Some(layer) = layer_of(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let grouped = grouped_layers(&text);
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (i, other) in LAYERS.iter().enumerate() {
                if code.contains(&format!("crate::{other}")) || grouped.contains(other) {
                    assert!(
                        i <= layer,
                        "{}:{}: `{}` may not import `{other}`",
                        file.display(),
                        n + 1,
                        LAYERS[layer]
                    );
                }
            }
            if layer == 0 {
                for io in IO_CRATES {
                    assert!(
                        !code.contains(io),
                        "{}:{}: `domain` is plain Rust, not `{io}`",
                        file.display(),
                        n + 1
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} files found");
}
