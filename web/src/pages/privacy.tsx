// Your data and rights: the three separate consents (R23), restriction, export and
// erasure (each confirmed with a code sent by email), and the requests with their
// status and the date they are due by (R30). Cookie settings also work signed out.
import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import type { components } from "../api/schema";
import { refreshMe, setMe, useMe, useMeProblem } from "../account";
import { chooseCookies, POLICY_VERSION, useCookieChoice } from "../cookies";
import { date, dateTime } from "../format";
import { navigate } from "../router";
import { setToken, useToken } from "../session";
import { Alert, ErrorText, LoadError, Loading, Page, useAction, useLoad } from "../ui";

type Request = components["schemas"]["Request"];

const STATUS_TEXT: Record<components["schemas"]["RequestStatus"], string> = {
  pending: "Received",
  in_progress: "In progress",
  completed: "Done",
  failed: "Failed — contact support",
};

export function CookieSettings() {
  const choice = useCookieChoice();
  const signedIn = !!useToken();
  const [analytics, setAnalytics] = useState(choice?.analytics ?? false);
  const [marketing, setMarketing] = useState(choice?.marketing_cookies ?? false);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const save = (a: boolean, m: boolean) =>
    action.run(async () => {
      setSaved(false);
      setAnalytics(a);
      setMarketing(m);
      await chooseCookies(a, m);
      setSaved(true);
    });
  return (
    <Page title="Cookie settings" lead="Cookies the site needs to work are always on. The others are off until you turn them on.">
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          save(analytics, marketing);
        }}
      >
        <label class="check">
          <input type="checkbox" checked disabled /> Necessary cookies (sign-in, your choices here)
        </label>
        <label class="check">
          <input type="checkbox" checked={analytics} onChange={(e) => setAnalytics(e.currentTarget.checked)} /> Analytics
          cookies
        </label>
        <label class="check">
          <input type="checkbox" checked={marketing} onChange={(e) => setMarketing(e.currentTarget.checked)} /> Marketing
          cookies
        </label>
        <ErrorText error={action.error} />
        {saved && (
          <Alert kind="success">
            Saved{signedIn ? " to your account" : " in this browser; it reaches your account when you sign in"}.
          </Alert>
        )}
        <div class="actions">
          <button type="submit" disabled={action.busy}>
            Save choices
          </button>
          <button type="button" class="secondary" onClick={() => save(false, false)} disabled={action.busy}>
            Reject all
          </button>
          <button type="button" class="secondary" onClick={() => save(true, true)} disabled={action.busy}>
            Accept all
          </button>
        </div>
      </form>
      <p class="muted">Choices are made under the privacy policy of {POLICY_VERSION}.</p>
    </Page>
  );
}

function Consents() {
  const me = useMe()!;
  const [c, setC] = useState(me.consents);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  // Follow the account's choices when they change (another tab, the banner), not when
  // the same choices are merely loaded again over unsaved edits.
  const known = JSON.stringify(me.consents);
  useEffect(() => setC(me.consents), [known]);
  const save = (e: Event) => {
    e.preventDefault();
    setSaved(false);
    action.run(async () => {
      await ok(
        api().PUT("/v1/me/consents", {
          body: {
            analytics: c.analytics,
            marketing_cookies: c.marketing_cookies,
            marketing_email: c.marketing_email,
            policy_version: me.policy_version_current as never,
          },
        }),
      );
      await refreshMe();
      setSaved(true);
    });
  };
  return (
    <form class="stack" onSubmit={save} aria-labelledby="consents-title">
      <h2 id="consents-title">Your choices</h2>
      <p>Each is separate; you can change any of them at any time.</p>
      <label class="check">
        <input type="checkbox" checked={c.analytics} onChange={(e) => setC({ ...c, analytics: e.currentTarget.checked })} />
        Analytics cookies
      </label>
      <label class="check">
        <input type="checkbox" checked={c.marketing_cookies} onChange={(e) => setC({ ...c, marketing_cookies: e.currentTarget.checked })} />
        Marketing cookies
      </label>
      <label class="check">
        <input type="checkbox" checked={c.marketing_email} onChange={(e) => setC({ ...c, marketing_email: e.currentTarget.checked })} />
        News and offers by email
      </label>
      {me.consents.updated_at && <p class="muted">Last changed {dateTime(me.consents.updated_at)}.</p>}
      <ErrorText error={action.error} />
      {saved && <Alert kind="success">Your choices are saved.</Alert>}
      <button type="submit" disabled={action.busy}>
        Save my choices
      </button>
    </form>
  );
}

function Restriction() {
  const me = useMe()!;
  const action = useAction();
  const set = (restricted: boolean) =>
    action.run(async () => {
      await ok(api().PUT("/v1/me/restriction", { body: { restricted } }));
      await refreshMe();
    });
  return (
    <section class="stack" aria-labelledby="restriction-title">
      <h2 id="restriction-title">Restrict processing</h2>
      <p>
        {me.restricted
          ? "Processing is restricted: we keep your data but make no new videos and send no marketing until you lift it."
          : "You can ask us to keep your data but stop using it (no new videos, no marketing) while you check something."}
      </p>
      <ErrorText error={action.error} />
      <button type="button" class="secondary" onClick={() => set(!me.restricted)} disabled={action.busy}>
        {me.restricted ? "Lift the restriction" : "Restrict processing"}
      </button>
    </section>
  );
}

function RequestRow(props: { request: Request }) {
  const r = props.request;
  const link = useAction();
  const [url, setUrl] = useState<string | null>(r.download_url ?? null);
  const fetchLink = () =>
    link.run(async () => {
      const fresh = await ok(api().GET("/v1/me/requests/{id}", { params: { path: { id: r.id } } }));
      setUrl(fresh.download_url ?? null);
      if (!fresh.download_url) throw new Error("The export has no download any more. Ask for a new one.");
    });
  return (
    <tr>
      <td>{r.kind === "export" ? "Copy of my data" : "Delete my account"}</td>
      <td>{STATUS_TEXT[r.status] ?? r.status}</td>
      <td>{dateTime(r.requested_at)}</td>
      <td>{date(r.due_by)}</td>
      <td>
        {r.kind === "export" && r.status === "completed" &&
          (url ? (
            <a href={url} download>
              Download my data
            </a>
          ) : (
            <button type="button" class="link" onClick={fetchLink} disabled={link.busy}>
              Get download link
            </button>
          ))}
        <ErrorText error={link.error} />
      </td>
    </tr>
  );
}

function Rights() {
  const [code, setCode] = useState("");
  const [codeSent, setCodeSent] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const requests = useLoad(() => ok(api().GET("/v1/me/requests")), []);
  const action = useAction();
  // Follow requests under way.
  useEffect(() => {
    const open = requests.data?.items.some((r) => r.status === "pending" || r.status === "in_progress");
    if (!open) return;
    const t = window.setTimeout(requests.reload, 3000);
    return () => window.clearTimeout(t);
  }, [requests.data]);
  const sendCode = () =>
    action.run(async () => {
      await ok(api().POST("/v1/me/verification"));
      setCodeSent(true);
      setMessage(null);
    });
  const exportData = () =>
    action.run(async () => {
      const r = await ok(api().POST("/v1/me/export", { body: { code: code.trim() } }));
      setCode("");
      setCodeSent(false);
      setMessage(`Export requested. We will email you when it is ready, by ${date(r.due_by)} at the latest.`);
      requests.reload();
    });
  const erase = () =>
    action.run(async () => {
      await ok(api().DELETE("/v1/me", { body: { code: code.trim() } }));
      setToken(null);
      setMe(null);
      navigate("/?deleted=1");
    });
  return (
    <section class="stack" aria-labelledby="rights-title">
      <h2 id="rights-title">Copy or delete your data</h2>
      <p>Both ask for a code we email you, so that only you can do them.</p>
      {!codeSent ? (
        <button type="button" class="secondary" onClick={sendCode} disabled={action.busy}>
          Email me a confirmation code
        </button>
      ) : (
        <Alert kind="info">A confirmation code is on its way to your email address.</Alert>
      )}
      <div class="field">
        <label for="rights-code">Confirmation code</label>
        <input id="rights-code" inputMode="numeric" autocomplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
      </div>
      <ErrorText error={action.error} />
      {message && <Alert kind="success">{message}</Alert>}
      <div class="actions">
        <button type="button" onClick={exportData} disabled={action.busy || !code.trim()}>
          Request a copy of my data
        </button>
      </div>
      <div class="danger-zone">
        <h3>Delete my account</h3>
        <p>
          This deletes your account, your videos and images, and ends every session at once. Records the law makes us
          keep (payments) are kept for as long as it requires, and nothing else.
        </p>
        <label class="check">
          <input type="checkbox" checked={confirmDelete} onChange={(e) => setConfirmDelete(e.currentTarget.checked)} />I
          understand that this cannot be undone
        </label>
        <button type="button" class="danger" onClick={erase} disabled={action.busy || !code.trim() || !confirmDelete}>
          Delete my account
        </button>
      </div>
      <h3>Your requests</h3>
      {requests.loading && !requests.data && <Loading what="your requests" />}
      <LoadError error={requests.error} what="Your requests" retry={requests.reload} />
      {requests.data && requests.data.items.length === 0 && <p>None yet.</p>}
      {requests.data && requests.data.items.length > 0 && (
        <table class="requests">
          <caption class="visually-hidden">Your privacy requests</caption>
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">Status</th>
              <th scope="col">Asked</th>
              <th scope="col">Due by</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {requests.data.items.map((r) => (
              <RequestRow key={r.id} request={r} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function PrivacySettings() {
  const me = useMe();
  const problem = useMeProblem();
  return (
    <Page title="Your data and rights">
      {!me ? (
        problem ? (
          <LoadError error={problem} what="Your settings" retry={() => void refreshMe()} />
        ) : (
          <Loading what="your settings" />
        )
      ) : (
        <>
          <Consents />
          <Restriction />
          <Rights />
        </>
      )}
    </Page>
  );
}
