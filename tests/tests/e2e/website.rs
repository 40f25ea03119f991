//! R44, the website's server side: the local stack serves the built site at `/` with the
//! security headers CloudFront adds in a deployment, pages of the app as `index.html`
//! and the API's unknown paths still as problem+json; the template serves it from a
//! private bucket through CloudFront with Origin Access Control and a strict CSP; the
//! inputs bucket lets the site's pages PUT uploads; Google's local account chooser
//! refuses what Google refuses; and a forged forwarding header never moves the per-IP
//! rate limit. (The journeys in a real browser are `web/e2e`, run by `make test`.)

use e2e_tests::TestStack;
use e2e_tests::local_stack::template::Value;
use e2e_tests::workspace_root as root;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Tagged(t) => t.value.as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r44_the_site_is_served_at_the_root_with_its_security_headers() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    assert!(
        root().join("web/dist/index.html").is_file(),
        "the site is built (`npm --prefix web run build`, as `make test` does first)"
    );
    for path in ["/", "/videos", "/settings/privacy"] {
        let res = t.http.get(t.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
        let body = res.text().await.unwrap();
        assert!(body.contains(r#"<div id="app">"#));
        assert!(
            !body.contains("<script>") && !body.contains("style="),
            "no inline script or style"
        );
    }
    // The API's own paths are never the site's.
    t.get("/v1/no-such-route", None)
        .await
        .assert_problem(404, "not_found");
    // The policy is the owner's file, given at build time.
    let policy = t
        .http
        .get(t.url("/privacy-policy.txt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let file = std::env::var("POLICY_FILE").map_or_else(
        |_| root().join("../shared/seed/privacy-policy.txt"),
        std::path::PathBuf::from,
    );
    if let Ok(given) = std::fs::read_to_string(&file) {
        assert_eq!(policy, given, "the site shows {}", file.display());
    }
    // Consents are given under the policy's date: the API must know it as current.
    assert!(
        policy.contains(&format!(
            "\nLast updated: {}\n",
            shared::domain::policy::POLICY_VERSION_CURRENT
        )),
        "the policy the site shows is the version the API holds as current"
    );
    // What the app learns at start.
    let config = t.get("/config.json", None).await;
    assert_eq!(config.body["api_base"], "");
    assert_eq!(config.body["google"]["mode"], "emulator");
    // A path out of the site's folder is not served.
    let res = t
        .http
        .get(t.url("/assets/..%2F..%2FCargo.toml"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn r44_the_inputs_bucket_lets_the_sites_pages_put_uploads() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let cors = t
        .stack
        .aws
        .s3()
        .get_bucket_cors()
        .bucket(t.bucket("InputsBucket"))
        .send()
        .await
        .unwrap();
    let rule = &cors.cors_rules()[0];
    assert_eq!(
        rule.allowed_origins(),
        std::slice::from_ref(&t.stack.base_url)
    );
    assert_eq!(rule.allowed_methods(), ["PUT"]);
    assert!(rule.allowed_headers().iter().any(|h| h == "content-type"));
}

#[test]
fn r44_the_template_serves_the_site_privately_through_cloudfront_with_a_strict_csp() {
    let yaml: Value = e2e_tests::template_yaml();
    let r = &yaml["Resources"];
    let block = &r["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[k], true, "{k}");
    }
    let config = &r["SiteDistribution"]["Properties"]["DistributionConfig"];
    let origin = &config["Origins"][0];
    assert!(
        matches!(origin["OriginAccessControlId"], Value::Tagged(_)),
        "OAC"
    );
    assert_eq!(
        r["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]["SigningBehavior"],
        "always"
    );
    assert_eq!(
        config["DefaultCacheBehavior"]["ViewerProtocolPolicy"],
        "redirect-to-https"
    );
    // Only CloudFront, for this distribution, reads the bucket.
    let statement = &r["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Principal"]["Service"],
        "cloudfront.amazonaws.com"
    );
    assert!(
        text(&statement["Condition"]["StringEquals"]["AWS:SourceArn"]).contains("distribution/")
    );
    // The headers: the local CSP's directives, Google's sign-in the one third party.
    let headers = &r["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"];
    let csp = text(&headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]);
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert!(csp.contains("script-src 'self' https://accounts.google.com/gsi/client;"));
    assert!(csp.contains("frame-ancestors 'none'"));
    let local = e2e_tests::local_stack::site::content_security_policy("X");
    for directive in local.split("; ") {
        let name = directive.split(' ').next().unwrap();
        assert!(
            csp.contains(&format!("{name} ")),
            "{name} in the template's CSP"
        );
    }
    assert_eq!(headers["FrameOptions"]["FrameOption"], "DENY");
    assert_eq!(headers["ContentTypeOptions"]["Override"], true);
    assert!(
        headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"]
            .as_i64()
            .unwrap()
            >= 31_536_000
    );
    assert_eq!(
        headers["ReferrerPolicy"]["ReferrerPolicy"],
        "strict-origin-when-cross-origin"
    );
    // The API keeps its own origin, open to the site alone, and lets the page read
    // what it polls by.
    let cors = &r["HttpApi"]["Properties"]["CorsConfiguration"];
    assert_eq!(text(&cors["AllowOrigins"][0]), "AllowedOrigin");
    let exposed: Vec<&str> = cors["ExposeHeaders"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(exposed.contains(&"retry-after") && exposed.contains(&"etag"));
}

#[tokio::test(flavor = "multi_thread")]
async fn r44_googles_local_chooser_refuses_an_unknown_client_or_redirect() {
    let t = TestStack::start_opts(|o| o.consumers = false).await;
    let client = e2e_tests::local_stack::stack::LOCAL_GOOGLE_CLIENT_ID;
    let page = |q: String| {
        let http = t.http.clone();
        let url = t.url(&format!("/_local/google/chooser?{q}"));
        async move { http.get(url).send().await.unwrap().status() }
    };
    let here = format!("{}/signin/google", t.stack.base_url);
    assert_eq!(
        page(format!("client_id={client}&redirect_uri={here}&state=s")).await,
        200
    );
    assert_eq!(
        page(format!("client_id=other&redirect_uri={here}&state=s")).await,
        400
    );
    assert_eq!(
        page(format!(
            "client_id={client}&redirect_uri=https://evil.example/cb&state=s"
        ))
        .await,
        400
    );
    // Choosing an account: back to the page with a token the stack accepts.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects
        .post(t.url("/_local/google/chooser"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "client_id={client}&redirect_uri={}&state=s1&email=chooser%40example.com",
            urlencode(&here)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let (back, fragment) = location.split_once('#').unwrap();
    assert_eq!(back, here);
    let pairs: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(pairs["state"], "s1");
    let r = t
        .post(
            "/v1/auth/google",
            serde_json::json!({ "id_token": pairs["id_token"], "over_13": true }),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["email"], "chooser@example.com");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
