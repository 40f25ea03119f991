//! The template lints clean: cfn-lint, and checkov with every skip explained (R35).

use e2e_tests::workspace_root as root;

#[tokio::test(flavor = "multi_thread")]
async fn r35_cfn_lint_passes_on_the_template() {
    let python = e2e_tests::local_stack::moto::python()
        .await
        .expect("python tools");
    let cfn_lint = python.with_file_name("cfn-lint");
    let out = tokio::process::Command::new(cfn_lint)
        .arg(root().join("infra/template.yaml"))
        .output()
        .await
        .expect("cfn-lint runs");
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// R35: checkov finds no failed check on the template, parses all of it (it exits 0 on
/// a YAML it cannot read, so its parsing errors are counted), and every check skipped
/// says why, on the resource.
#[tokio::test(flavor = "multi_thread")]
async fn r35_checkov_finds_no_failed_check_and_every_skip_says_why() {
    let script = root().join("scripts/checkov-tools.sh");
    let out = tokio::process::Command::new("bash")
        .arg(script)
        .output()
        .await
        .expect("checkov installs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checkov = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = tokio::process::Command::new(checkov)
        .args([
            "--skip-download",
            "--framework",
            "cloudformation",
            "-o",
            "json",
            "-f",
        ])
        .arg(root().join("infra/template.yaml"))
        .output()
        .await
        .expect("checkov runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's report ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let summary = &report["summary"];
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    assert!(
        summary["resource_count"].as_u64().unwrap() >= 40,
        "{summary}"
    );
    let failed = &report["results"]["failed_checks"];
    assert_eq!(summary["failed"], 0, "failed checks: {failed:#}");
    for skipped in report["results"]["skipped_checks"].as_array().unwrap() {
        let why = skipped["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or("");
        assert!(why.len() > 20, "skipped without a reason: {skipped}");
    }
}
