//! The documents' facts that code knows are written by code: the environment table of
//! README.md and the functions table of ARCHITECTURE.md match the template and the
//! declarations (`cargo run -p local-stack -- docs` writes them).

use e2e_tests::local_stack::docs;

#[test]
fn the_generated_tables_of_the_docs_are_current() {
    for (path, expected) in docs::generated(&docs::root()).unwrap() {
        let checked_in = std::fs::read_to_string(&path).unwrap();
        assert!(
            checked_in == expected,
            "{} is stale: cargo run -p local-stack -- docs",
            path.display()
        );
    }
}

#[test]
fn a_variable_the_template_gives_must_be_explained() {
    let template = e2e_tests::local_stack::template::Template::load().unwrap();
    let text = std::fs::read_to_string(docs::root().join("infra/template.yaml"))
        .unwrap()
        .replace("RUST_LOG: info", "RUST_LOG: info\n        SOMETHING_NEW: x");
    let changed = e2e_tests::local_stack::template::Template::parse(&text).unwrap();
    assert!(docs::env_table(&template).is_ok());
    let err = docs::env_table(&changed).unwrap_err();
    assert!(err.contains("SOMETHING_NEW"), "{err}");
}

/// The markdown files of the project (its own, not its dependencies').
fn markdown_files() -> Vec<std::path::PathBuf> {
    let root = docs::root();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.')
                    && !["target", "node_modules", "dist"].contains(&name.as_str())
                {
                    stack.push(path);
                }
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every test of the workspace's Rust code: its name, and the module path it lives
/// under as a reader names it (the file's stem, then any inline modules: `faults::tests`).
fn rust_tests() -> Vec<(String, String)> {
    let root = docs::root();
    let mut found = Vec::new();
    let mut stack: Vec<_> = ["shared", "functions", "local", "operator", "tests"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && name != "node_modules" {
                    stack.push(path);
                }
                continue;
            }
            if !name.ends_with(".rs") {
                continue;
            }
            let stem = name.trim_end_matches(".rs").to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let mut marked = false;
            let mut inner = Vec::<String>::new();
            for line in text.lines() {
                let line = line.trim();
                if let Some(m) = line.strip_prefix("mod ").and_then(|m| m.strip_suffix(" {")) {
                    inner.push(m.to_owned());
                }
                if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
                    marked = true;
                } else if marked
                    && let Some(rest) = line
                        .strip_prefix("async fn ")
                        .or_else(|| line.strip_prefix("fn "))
                {
                    let test = rest.split('(').next().unwrap_or_default().to_owned();
                    let module = std::iter::once(stem.clone())
                        .chain(inner.iter().cloned())
                        .collect::<Vec<_>>()
                        .join("::");
                    found.push((module, test));
                    marked = false;
                }
            }
        }
    }
    found
}

/// Whether `name` reads as one of this project's test names (a sentence in snake case)
/// rather than a function's.
fn reads_as_a_test(name: &str) -> bool {
    name.split('_').filter(|w| !w.is_empty()).count() >= 4
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// What a markdown file names as proof must exist: each test it names (`module::test`)
/// is a test of that module, and each file of the project it names is there. A test
/// renamed or moved fails here rather than leaving the docs pointing at nothing.
#[test]
fn every_test_and_file_the_docs_name_exists() {
    let tests = rust_tests();
    assert!(tests.len() > 200, "the tests were found: {}", tests.len());
    let root = docs::root();
    let tops = [
        "tests/",
        "web/",
        "shared/",
        "functions/",
        "local/",
        "scripts/",
        "infra/",
        "events/",
        "docs/",
        "operator/",
    ];
    let mut missing = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file.strip_prefix(&root).unwrap().display().to_string();
        for quoted in text.split('`').skip(1).step_by(2) {
            let quoted = quoted.trim();
            if quoted.contains("::") && !quoted.contains([' ', '(', '<', '{']) {
                let mut parts: Vec<&str> = quoted.split("::").collect();
                let name = parts.pop().unwrap_or_default();
                if !reads_as_a_test(name) {
                    continue;
                }
                let module = parts.join("::");
                let exists = tests
                    .iter()
                    .any(|(m, t)| t == name && (module.is_empty() || m.ends_with(&module)));
                if !exists {
                    missing.push(format!("{shown}: test `{quoted}`"));
                }
            } else if tops.iter().any(|t| quoted.starts_with(t))
                && !quoted.contains([' ', '*', '{', '…', '$', '<'])
                // What a build writes (`web/dist/…`) is not in the repository.
                && !quoted.contains("/dist/")
            {
                let path = quoted.split(['#', ':']).next().unwrap_or_default();
                if !root.join(path).exists() {
                    missing.push(format!("{shown}: file `{quoted}`"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but not there:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_test_name_is_told_from_a_functions() {
    assert!(reads_as_a_test("only_short_lived_stores_are_not_retained"));
    assert!(reads_as_a_test("r41_only_stamp_links_the_c2pa_crate"));
    assert!(!reads_as_a_test("await_usage"));
    assert!(!reads_as_a_test("document"));
    assert!(!reads_as_a_test("Only_Short_Lived_Stores"));
}
