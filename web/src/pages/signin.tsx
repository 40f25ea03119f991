// Sign in (and sign up) with an emailed code or with Google. A new account needs the
// statement that its holder is 13 or older (R06); without it the API refuses with
// `age_confirmation_required`, the page explains why, and the same code (or Google
// token) can be sent again with the statement. Both ways end in `finish`.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import type { components } from "../api/schema";
import { ApiProblem } from "../api/problems";
import { refreshMe } from "../account";
import type { SiteConfig } from "../config";
import { navigate, useLocation } from "../router";
import { setToken } from "../session";
import { Alert, ErrorText, Page, useAction } from "../ui";

type SignInResponse = components["schemas"]["SignInResponse"];
const GOOGLE_STATE = "sora2.google-state";

async function finish(res: SignInResponse, next: string) {
  setToken(res.token);
  await refreshMe();
  navigate(next.startsWith("/") && !next.startsWith("//") ? next : "/create", true);
}

function needsAge(e: unknown): boolean {
  return e instanceof ApiProblem && e.code === "age_confirmation_required";
}

function AgeStatement(props: { checked: boolean; onChange: (v: boolean) => void; refused: boolean }) {
  return (
    <div class="field">
      <label class="check">
        <input type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.currentTarget.checked)} />I am
        13 years old or older
      </label>
      <p class="hint" id="age-hint">
        Needed once, to create an account. Sora2 AI is not for children under 13.
      </p>
      {props.refused && (
        <Alert kind="error">
          This email has no account yet, and we can only create one for someone aged 13 or over. If you are, tick the
          box above and continue; your code still works. If you are under 13, you cannot use Sora2 AI.
        </Alert>
      )}
    </div>
  );
}

export function SignIn(props: { config: SiteConfig }) {
  const next = useLocation().query.get("next") ?? "/create";
  const [email, setEmail] = useState("");
  const [code, setCode] = useState("");
  const [over13, setOver13] = useState(false);
  const [sent, setSent] = useState(false);
  const action = useAction();
  const codeInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (sent) codeInput.current?.focus();
  }, [sent]);

  const start = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      await ok(api().POST("/v1/auth/email/start", { body: { email } }));
      setSent(true);
    });
  };
  const verify = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const res = await ok(
        api().POST("/v1/auth/email/verify", { body: { email, code: code.trim(), over_13: over13 || undefined } }),
      );
      await finish(res, next);
    });
  };

  return (
    <Page title="Sign in" lead="New here? Signing in with your email creates your account.">
      {!sent ? (
        <form onSubmit={start} class="stack">
          <div class="field">
            <label for="email">Email address</label>
            <input
              id="email"
              type="email"
              autocomplete="email"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </div>
          <ErrorText error={action.error} />
          <button type="submit" disabled={action.busy}>
            Email me a sign-in code
          </button>
        </form>
      ) : (
        <form onSubmit={verify} class="stack">
          <Alert kind="info">
            If {email} can receive email, a code is on its way. It works for 10 minutes.
          </Alert>
          <div class="field">
            <label for="code">Sign-in code</label>
            <input
              id="code"
              ref={codeInput}
              inputMode="numeric"
              autocomplete="one-time-code"
              required
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </div>
          <AgeStatement checked={over13} onChange={setOver13} refused={needsAge(action.error)} />
          {!needsAge(action.error) && <ErrorText error={action.error} />}
          <div class="actions">
            <button type="submit" disabled={action.busy}>
              Sign in
            </button>
            <button type="button" class="secondary" onClick={() => { setSent(false); setCode(""); action.clear(); }}>
              Use another email
            </button>
          </div>
        </form>
      )}
      <div class="divider" role="separator">or</div>
      <GoogleButton config={props.config} next={next} />
    </Page>
  );
}

declare global {
  interface Window {
    google?: {
      accounts: {
        id: {
          initialize(o: { client_id: string; callback: (r: { credential: string }) => void }): void;
          renderButton(el: HTMLElement, o: Record<string, string>): void;
        };
      };
    };
  }
}

function GoogleButton(props: { config: SiteConfig; next: string }) {
  const { mode, client_id } = props.config.google;
  const holder = useRef<HTMLDivElement>(null);
  const [token, setTokenValue] = useState<string | null>(null);
  useEffect(() => {
    // In a deployment: Google Identity Services, the one third-party script the site loads.
    if (mode !== "gis" || !holder.current) return;
    const script = document.createElement("script");
    script.src = "https://accounts.google.com/gsi/client";
    script.async = true;
    script.onload = () => {
      window.google?.accounts.id.initialize({ client_id, callback: (r) => setTokenValue(r.credential) });
      if (holder.current) window.google?.accounts.id.renderButton(holder.current, { theme: "outline", size: "large" });
    };
    document.head.appendChild(script);
  }, [mode, client_id]);
  if (mode === "off") return null;
  if (token) return <GoogleFinish idToken={token} next={props.next} />;
  if (mode === "gis") return <div ref={holder} />;
  // On `make dev`: the local account chooser, in Google's implicit flow.
  const go = () => {
    const state = crypto.randomUUID();
    sessionStorage.setItem(GOOGLE_STATE, JSON.stringify({ state, next: props.next }));
    const q = new URLSearchParams({
      client_id,
      redirect_uri: `${location.origin}/signin/google`,
      response_type: "id_token",
      scope: "openid email profile",
      state,
    });
    location.assign(`/_local/google/chooser?${q}`);
  };
  return (
    <button type="button" class="secondary google" onClick={go}>
      Sign in with Google
    </button>
  );
}

function needsCode(e: unknown): boolean {
  return e instanceof ApiProblem && (e.code === "email_code_required" || e.code === "invalid_code");
}

/** Sends Google's ID token; asks for the age statement when the account is new, and for
 * the emailed code when the address has an account Google cannot vouch for (R03). */
function GoogleFinish(props: { idToken: string; next: string }) {
  const action = useAction();
  const [over13, setOver13] = useState(false);
  const [code, setCode] = useState("");
  const send = (withAge: boolean, withCode?: string) =>
    action.run(async () => {
      const res = await ok(
        api().POST("/v1/auth/google", {
          body: { id_token: props.idToken, over_13: withAge || undefined, code: withCode || undefined },
        }),
      );
      await finish(res, props.next);
    });
  useEffect(() => {
    send(false);
  }, [props.idToken]);
  if (needsCode(action.error)) {
    return (
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          send(false, code.trim());
        }}
      >
        <Alert kind="info">
          This email address already has a Sora2 AI account. To connect your Google account to it, enter the code we
          just emailed to that address. It works for 10 minutes.
        </Alert>
        <div class="field">
          <label for="link-code">Code from the email</label>
          <input
            id="link-code"
            inputMode="numeric"
            autocomplete="one-time-code"
            required
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
        </div>
        {action.error instanceof ApiProblem && action.error.code === "invalid_code" && (
          <ErrorText error={action.error} />
        )}
        <button type="submit" disabled={action.busy}>
          Connect Google and sign in
        </button>
      </form>
    );
  }
  if (needsAge(action.error)) {
    return (
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          send(over13);
        }}
      >
        <AgeStatement checked={over13} onChange={setOver13} refused />
        <button type="submit" disabled={action.busy}>
          Create my account
        </button>
      </form>
    );
  }
  return action.error ? <ErrorText error={action.error} /> : <p role="status">Signing you in with Google…</p>;
}

/** Where Google's (or the local chooser's) redirect lands, with the token in the fragment. */
export function GoogleReturn() {
  const [ask] = useState(() => {
    const fragment = new URLSearchParams(location.hash.slice(1));
    // The token leaves the address bar (and history) at once.
    history.replaceState(null, "", location.pathname);
    const saved = JSON.parse(sessionStorage.getItem(GOOGLE_STATE) ?? "null") as { state: string; next: string } | null;
    sessionStorage.removeItem(GOOGLE_STATE);
    const idToken = fragment.get("id_token");
    const ok = !!idToken && !!saved && fragment.get("state") === saved.state;
    return { idToken: ok ? idToken : null, next: saved?.next ?? "/create" };
  });
  return (
    <Page title="Sign in with Google">
      {ask.idToken ? (
        <GoogleFinish idToken={ask.idToken} next={ask.next} />
      ) : (
        <Alert kind="error">
          This sign-in did not start here or has expired. <a href="/signin">Start again</a>.
        </Alert>
      )}
    </Page>
  );
}
