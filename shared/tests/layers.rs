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
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (i, other) in LAYERS.iter().enumerate() {
                if code.contains(&format!("crate::{other}")) {
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
