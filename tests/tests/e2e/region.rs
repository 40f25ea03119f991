//! R40: data stays in one configured AWS region. Every ARN the template names is in the
//! stack's own region (or is of a service without regions), every endpoint and bucket
//! name is built from it, and neither the template nor the deployed code names a
//! region of its own: the functions take theirs from Lambda's `AWS_REGION`.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A literal region name (`eu-west-1`, `us-east-2`, `ap-southeast-1`, …) in `text`.
fn literal_region(text: &str) -> Option<String> {
    let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
    words
        .filter(|w| {
            let parts: Vec<&str> = w.split('-').collect();
            parts.len() == 3
                && parts[0].len() == 2
                && parts[0].chars().all(|c| c.is_ascii_lowercase())
                && [
                    "east",
                    "west",
                    "north",
                    "south",
                    "central",
                    "northeast",
                    "southeast",
                    "northwest",
                    "southwest",
                ]
                .contains(&parts[1])
                && parts[2].chars().all(|c| c.is_ascii_digit())
                && !parts[2].is_empty()
        })
        .map(str::to_owned)
        .next()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn r40_every_arn_endpoint_and_bucket_is_in_the_one_configured_region() {
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    assert_eq!(
        literal_region(&template),
        None,
        "the template names a region"
    );
    let mut arns = 0;
    for (i, _) in template.match_indices("arn:") {
        let arn: String = template[i..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
            .collect();
        let arn = arn
            .replace("${AWS::Partition}", "PARTITION")
            .replace("${AWS::Region}", "REGION")
            .replace("${AWS::AccountId}", "ACCOUNT");
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() < 4 {
            continue;
        }
        arns += 1;
        let (service, region) = (parts[2], parts[3]);
        match service {
            // Global or region-less ARNs: IAM names, S3 buckets and objects, CloudFront
            // distributions (the website's, which serves files with nothing of a person).
            "iam" | "s3" | "cloudfront" => assert!(region.is_empty(), "{arn}"),
            _ => assert_eq!(region, "REGION", "{arn}: the stack's own region"),
        }
    }
    assert!(arns > 10, "the ARNs were found ({arns})");
    for line in template.lines().filter(|l| l.contains("execute-api.")) {
        assert!(line.contains("execute-api.${AWS::Region}"), "{line}");
    }
    for line in template.lines().filter(|l| l.contains("BucketName:")) {
        assert!(line.contains("${AWS::Region}"), "{line}");
    }

    let mut files = Vec::new();
    for dir in ["shared/src", "functions", "operator/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 50);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Unit tests may use a region as sample data; the code may not.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        assert_eq!(literal_region(code), None, "{} names a region", f.display());
    }
}

#[test]
fn region_names_are_recognised() {
    assert_eq!(
        literal_region("x eu-west-1 y").as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(
        literal_region("arn:aws:sqs:ap-southeast-2:1:q").as_deref(),
        Some("ap-southeast-2")
    );
    assert_eq!(literal_region("the east-west line, tx-east-x"), None);
}
