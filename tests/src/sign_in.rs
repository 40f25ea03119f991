//! Signing in as a person does (email code, Google), and the mail the stack sends.

use serde_json::{Value, json};

use crate::{Reply, TestStack};

impl TestStack {
    pub async fn start_email(&self, email: &str) -> Reply {
        self.post("/v1/auth/email/start", json!({ "email": email }), None)
            .await
    }

    /// The mail received by an address, through the local mailbox route.
    pub async fn emails_to(&self, email: &str) -> Vec<Value> {
        let r = self
            .send(
                self.http
                    .get(self.url("/_local/emails"))
                    .query(&[("to", email)]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// The code of the newest sign-in email to `email`.
    pub async fn latest_code(&self, email: &str) -> String {
        let mails = self.emails_to(email).await;
        let text = mails.last().expect("a sign-in email")["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        text.split_whitespace()
            .map(|w| w.trim_end_matches('.'))
            .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .expect("a six-digit code in the email")
            .to_owned()
    }

    pub async fn verify(&self, email: &str, code: &str, over_13: Option<bool>) -> Reply {
        let mut body = json!({ "email": email, "code": code });
        if let Some(o) = over_13 {
            body["over_13"] = json!(o);
        }
        self.post("/v1/auth/email/verify", body, None).await
    }

    /// Signs up (or in) by email code; returns the session token and the user id.
    pub async fn sign_in_email(&self, email: &str) -> (String, String) {
        assert_eq!(self.start_email(email).await.status, 202);
        let code = self.latest_code(email).await;
        let r = self.verify(email, &code, Some(true)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        (
            r.body["token"].as_str().unwrap().to_owned(),
            r.body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// A Google ID token from the local emulator; `extra` adds test knobs.
    pub async fn google_token(&self, email: &str, extra: Value) -> String {
        let mut body = json!({ "email": email, "name": "Test Person" });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self.post("/_local/google/id-token", body, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["id_token"].as_str().unwrap().to_owned()
    }

    pub async fn google_sign_in(&self, id_token: &str, over_13: bool) -> Reply {
        self.post(
            "/v1/auth/google",
            json!({ "id_token": id_token, "over_13": over_13 }),
            None,
        )
        .await
    }

    /// A fresh rights code, emailed to the account's address.
    pub async fn rights_code(&self, token: &str, email: &str) -> String {
        let r = self
            .post("/v1/me/verification", json!({}), Some(token))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        self.latest_code(email).await
    }

    /// Waits until `email` has received `n` messages whose subject contains `subject`.
    pub async fn wait_emails(&self, email: &str, subject: &str, n: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let found: Vec<Value> = self
                .emails_to(email)
                .await
                .into_iter()
                .filter(|m| m["subject"].as_str().unwrap_or_default().contains(subject))
                .collect();
            if found.len() >= n || std::time::Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Signed up and in without the email round trip, for the tests that are not about
    /// signing in: auth's own account creation (profile, unique keys, the sign-up
    /// grant) and session (with its security event), committed as a right code's
    /// would be. Returns the session token and the account id.
    pub async fn signed_in(&self, email: &str) -> (String, String) {
        use auth::signin::{add_account_creation, commit_with_session, new_account};
        let auth = &self.stack.functions.auth;
        let email = shared::domain::email::EmailAddress::parse(email).expect("an address");
        let existing = auth.accounts.find_by_email(email.as_str()).await.unwrap();
        let (account, is_new) = match existing {
            Some(a) => (a, false),
            None => (new_account(auth, email.as_str(), None), true),
        };
        let mut tx = auth.transactions.begin();
        if is_new {
            add_account_creation(auth, &mut tx, &account).unwrap();
        }
        let signed = commit_with_session(auth, tx, &account, is_new, is_new, "email_code")
            .await
            .expect("the session is written");
        let answer = serde_json::to_value(&signed.0).unwrap();
        (
            answer["token"].as_str().unwrap().to_owned(),
            answer["user"]["id"].as_str().unwrap().to_owned(),
        )
    }
}
