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
