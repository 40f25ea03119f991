//! The workspace: no crate lists a dependency its code does not use (build time).

use e2e_tests::workspace_root as root;

/// Every dependency a crate of the workspace lists is used by its code (one fewer crate
/// to build on two cores, and one fewer to audit).
#[test]
fn no_crate_lists_a_dependency_it_does_not_use() {
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members: Vec<String> = workspace
        .split("members = [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    assert!(members.len() >= 8, "{members:?}");
    for member in members {
        let dir = root().join(&member);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let mut in_deps = false;
        let mut deps = Vec::new();
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_deps = line == "[dependencies]" || line == "[dev-dependencies]";
                continue;
            }
            if in_deps
                && let Some(name) = line.split(['.', ' ', '=']).next()
                && !name.is_empty()
                && !name.starts_with('#')
            {
                deps.push(name.to_owned());
            }
        }
        let mut code = String::new();
        for sub in ["src", "tests"] {
            let mut stack = vec![dir.join(sub)];
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in entries {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "rs") {
                        code.push_str(&std::fs::read_to_string(&p).unwrap());
                    }
                }
            }
        }
        for dep in deps {
            let ident = dep.replace('-', "_");
            let used = code.contains(&format!("{ident}::"))
                || code.contains(&format!("use {ident}"))
                || code.contains(&format!("{ident}!"));
            assert!(used, "{member} lists {dep} but never uses it");
        }
    }
}

/// The platform this machine builds for (`rustc -vV`'s `host`).
fn host_triple() -> String {
    let out = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc names its host")
        .to_owned()
}

/// R41: the `c2pa` crate (several MB of code) is linked into `stamp` alone. Cargo's
/// own view of each deployed binary's dependencies says so, not a reading of the
/// manifests: a function that reached c2pa through another crate would show here.
#[test]
fn r41_only_stamp_links_the_c2pa_crate() {
    // Resolved for the host alone, as the build resolves it: every platform's graph
    // would name crates (android_system_properties, …) that no build here downloads,
    // and `--offline` fails on a machine whose cache holds only what was built.
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host_triple()])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = meta["resolve"]["nodes"].as_array().unwrap();
    let name_of = |id: &str| -> String {
        meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    // Every package reachable through normal dependencies from `start`.
    let reaches_c2pa = |start: &str| -> bool {
        let mut stack = vec![start.to_owned()];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            if name_of(&id) == "c2pa" {
                return true;
            }
            let node = nodes.iter().find(|n| n["id"] == id.as_str()).unwrap();
            for dep in node["deps"].as_array().unwrap() {
                let normal = dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null());
                if normal {
                    stack.push(dep["pkg"].as_str().unwrap().to_owned());
                }
            }
        }
        false
    };
    let mut checked = 0;
    for function in e2e_tests::local_stack::functions::DECLARED {
        let id = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| {
                p["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["kind"][0] == "bin" && t["name"] == function.name)
            })
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no package builds {}", function.name));
        assert_eq!(
            reaches_c2pa(&id),
            function.name == "stamp",
            "{} and c2pa",
            function.name
        );
        checked += 1;
    }
    assert_eq!(checked, e2e_tests::local_stack::functions::DECLARED.len());
}

/// `make check` runs some end-to-end modules because they start no local stack; a
/// stack started there would make the fast tier slow, or fail it without the local
/// endpoint's tools. Only schemathesis, which `scripts/check.sh` leaves out, may.
#[test]
fn the_fast_tiers_modules_start_no_stack() {
    let script = std::fs::read_to_string(root().join("scripts/check.sh")).unwrap();
    let modules: Vec<&str> = script
        .lines()
        .find_map(|l| l.strip_prefix("fast_modules=\""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("check.sh lists its modules")
        .split_whitespace()
        .collect();
    assert!(
        modules.contains(&"docs") && modules.contains(&"contract"),
        "{modules:?}"
    );
    // Spelt in two parts, so that this test's own text does not match it.
    let needle = ["TestStack", "::start"].concat();
    for module in modules {
        let code =
            std::fs::read_to_string(root().join(format!("tests/tests/e2e/{module}.rs"))).unwrap();
        // Each top-level function's text, from its `fn` to the next one's.
        let starts: Vec<usize> = code
            .match_indices('\n')
            .map(|(i, _)| i + 1)
            .filter(|&i| code[i..].starts_with("fn ") || code[i..].starts_with("async fn "))
            .chain([code.len()])
            .collect();
        for pair in starts.windows(2) {
            let body = &code[pair[0]..pair[1]];
            let name = body
                .trim_start_matches("async ")
                .trim_start_matches("fn ")
                .split('(')
                .next()
                .unwrap_or_default();
            if body.contains(&needle) {
                assert!(
                    name.contains("schemathesis"),
                    "{module}::{name} starts a stack but runs in make check"
                );
            }
        }
    }
}
