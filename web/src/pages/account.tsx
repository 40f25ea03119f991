// Account: display name, email change (with the code sent to the new address), Google
// connection, support, and signing out here or everywhere.
import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { describe } from "../api/problems";
import { refreshMe, setMe, useMe, useMeProblem } from "../account";
import type { SiteConfig } from "../config";
import { dateTime } from "../format";
import { navigate } from "../router";
import { setToken } from "../session";
import { Alert, ErrorText, Loading, Page, useAction } from "../ui";

/** A call answered with no body (204): only its refusal matters. */
async function done(call: Promise<{ error?: unknown; response: Response }>): Promise<void> {
  const answer = await call;
  if (!answer.response.ok) throw describe(answer.error as never, answer.response);
}

function Profile() {
  const me = useMe()!;
  const [name, setName] = useState(me.display_name ?? "");
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const save = (e: Event) => {
    e.preventDefault();
    setSaved(false);
    action.run(async () => {
      setMe(await ok(api().PATCH("/v1/me", { body: { display_name: name.trim() || null } })));
      setSaved(true);
    });
  };
  return (
    <form class="stack" onSubmit={save} aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <div class="field">
        <label for="display-name">Display name</label>
        <input id="display-name" autocomplete="nickname" maxLength={80} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </div>
      <ErrorText error={action.error} />
      {saved && <Alert kind="success">Saved.</Alert>}
      <button type="submit" disabled={action.busy}>
        Save display name
      </button>
    </form>
  );
}

function EmailChange() {
  const me = useMe()!;
  const [email, setEmail] = useState("");
  const [code, setCode] = useState("");
  const [changed, setChanged] = useState(false);
  const action = useAction();
  const ask = (e: Event) => {
    e.preventDefault();
    setChanged(false);
    action.run(async () => {
      setMe(await ok(api().PATCH("/v1/me", { body: { email } })));
    });
  };
  const confirm = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      setMe(await ok(api().POST("/v1/me/email/verify", { body: { code: code.trim() } })));
      setCode("");
      setChanged(true);
    });
  };
  return (
    <section aria-labelledby="email-title" class="stack">
      <h2 id="email-title">Email address</h2>
      <p>
        You sign in with <strong>{me.email}</strong>.
      </p>
      {changed && <Alert kind="success">Your email address is changed. Other sessions were signed out.</Alert>}
      {me.pending_email ? (
        <form class="stack" onSubmit={confirm}>
          <Alert kind="info">We sent a code to {me.pending_email}. Enter it to confirm the change.</Alert>
          <div class="field">
            <label for="email-code">Code sent to the new address</label>
            <input id="email-code" inputMode="numeric" autocomplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </div>
          <ErrorText error={action.error} />
          <button type="submit" disabled={action.busy}>
            Confirm new address
          </button>
        </form>
      ) : (
        <form class="stack" onSubmit={ask}>
          <div class="field">
            <label for="new-email">New email address</label>
            <input id="new-email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </div>
          <ErrorText error={action.error} />
          <button type="submit" disabled={action.busy}>
            Send a code to the new address
          </button>
        </form>
      )}
    </section>
  );
}

function Google(props: { config: SiteConfig }) {
  const me = useMe()!;
  const linked = me.identities.find((i) => i.provider === "google");
  const action = useAction();
  const disconnect = () =>
    action.run(async () => {
      await done(api().DELETE("/v1/me/identities/google"));
      await refreshMe();
    });
  return (
    <section aria-labelledby="google-title" class="stack">
      <h2 id="google-title">Google</h2>
      {linked ? (
        <>
          <p>Google sign-in is connected{linked.linked_at ? ` since ${dateTime(linked.linked_at)}` : ""}. You can still sign in with an emailed code.</p>
          <ErrorText error={action.error} />
          <button type="button" class="secondary" onClick={disconnect} disabled={action.busy}>
            Disconnect Google
          </button>
        </>
      ) : (
        <p>
          Google sign-in is not connected.
          {props.config.google.mode !== "off" && " Sign in with Google using this email address to connect it."}
        </p>
      )}
    </section>
  );
}

function Support() {
  const [subject, setSubject] = useState("");
  const [message, setMessage] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const action = useAction();
  const send = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const created = await ok(api().POST("/v1/support", { body: { subject, message } }));
      setSent(created.id);
      setSubject("");
      setMessage("");
    });
  };
  return (
    <form class="stack" onSubmit={send} aria-labelledby="support-title">
      <h2 id="support-title">Contact support</h2>
      <div class="field">
        <label for="support-subject">Subject</label>
        <input id="support-subject" required maxLength={200} value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="support-message">Message</label>
        <textarea id="support-message" rows={4} required maxLength={5000} value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
      </div>
      <ErrorText error={action.error} />
      {sent && <Alert kind="success">Sent. We answer by email (reference {sent}).</Alert>}
      <button type="submit" disabled={action.busy}>
        Send message
      </button>
    </form>
  );
}

function SignOut() {
  const action = useAction();
  const out = (all: boolean) =>
    action.run(async () => {
      await done(api().POST("/v1/auth/signout", { params: { query: all ? { all: true } : {} } }));
      setToken(null);
      setMe(null);
      navigate("/");
    });
  return (
    <section aria-labelledby="signout-title" class="stack">
      <h2 id="signout-title">Sessions</h2>
      <ErrorText error={action.error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={() => out(false)} disabled={action.busy}>
          Sign out
        </button>
        <button type="button" class="secondary" onClick={() => out(true)} disabled={action.busy}>
          Sign out everywhere
        </button>
      </div>
    </section>
  );
}

/** Shown when the account could not be loaded: the reason, and a way to try again. */
function NotLoaded(props: { problem: unknown }) {
  const retry = useAction();
  return (
    <div class="stack">
      {/* Replaced while retrying, so a second failure is announced again. */}
      {retry.busy ? <Loading what="your account" /> : <ErrorText error={props.problem} />}
      <button
        type="button"
        onClick={() =>
          retry.run(async () => {
            await refreshMe();
          })
        }
        disabled={retry.busy}
      >
        Retry
      </button>
    </div>
  );
}

export function AccountPage(props: { config: SiteConfig }) {
  const me = useMe();
  const problem = useMeProblem();
  return (
    <Page title="Account">
      {!me ? (
        problem ? <NotLoaded problem={problem} /> : <Loading what="your account" />
      ) : (
        <>
          <p>
            Your data, consents and rights: <a href="/settings/privacy">Your data and rights</a>.
          </p>
          <Profile />
          <EmailChange />
          <Google config={props.config} />
          <Support />
          <SignOut />
        </>
      )}
    </Page>
  );
}
