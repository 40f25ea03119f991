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
