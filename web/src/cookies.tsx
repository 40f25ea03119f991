// Cookie choices (R23): analytics and marketing cookies are off until the person
// chooses; "Reject all" sits beside "Accept all", equally easy. The choice is kept in
// this browser and, for a signed-in person, sent to the API with the version of the
// policy it was made under — at once, or at the next sign-in if made signed out.
// (The site sets no analytics or marketing cookies of its own today; the choice is
// recorded so that none ever will be without it.)
import { useState } from "preact/hooks";
import { api, ok } from "./api/client";
import { refreshMe } from "./account";
import { token } from "./session";
import { store, useStore } from "./store";

export const POLICY_VERSION: string = __POLICY_VERSION__;

export interface CookieChoice {
  analytics: boolean;
  marketing_cookies: boolean;
  policy_version: string;
  synced: boolean;
}

const KEY = "sora2.cookies";

function stored(): CookieChoice | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as CookieChoice) : null;
  } catch {
    return null;
  }
}

const choice = store(stored());

export function cookieChoice(): CookieChoice | null {
  return choice.get();
}

function keep(c: CookieChoice) {
  localStorage.setItem(KEY, JSON.stringify(c));
  choice.set(c);
}

/** Records a choice here and, when signed in, with the API. */
export async function chooseCookies(analytics: boolean, marketing_cookies: boolean): Promise<void> {
  keep({ analytics, marketing_cookies, policy_version: POLICY_VERSION, synced: false });
  await syncCookies();
}

/** Sends a choice not yet sent (made signed out) once there is a session. */
export async function syncCookies(): Promise<void> {
  const c = cookieChoice();
  if (!c || c.synced || !token()) return;
  await ok(
    api().PUT("/v1/me/consents", {
      body: {
        analytics: c.analytics,
        marketing_cookies: c.marketing_cookies,
        policy_version: c.policy_version as never,
      },
    }),
  );
  keep({ ...c, synced: true });
  await refreshMe();
}

export function useCookieChoice(): CookieChoice | null {
  return useStore(choice);
}

export function CookieBanner() {
  const choice = useCookieChoice();
  const [error, setError] = useState<string | null>(null);
  if (choice) return null;
  const pick = (analytics: boolean, marketing: boolean) =>
    chooseCookies(analytics, marketing).catch(() =>
      setError("Your choice is saved in this browser; it will reach your account at the next sign-in."),
    );
  return (
    <section class="cookie-banner" aria-labelledby="cookie-title">
      <h2 id="cookie-title">Cookies</h2>
      <p>
        We use cookies that the site needs to work. With your permission we would also use analytics cookies (to see
        which pages help) and marketing cookies. Both stay off unless you turn them on. Read the{" "}
        <a href="/privacy">privacy policy</a>.
      </p>
      {error && <p role="status">{error}</p>}
      <div class="actions">
        <button type="button" onClick={() => pick(false, false)}>
          Reject all
        </button>
        <button type="button" onClick={() => pick(true, true)}>
          Accept all
        </button>
        <a class="button secondary" href="/settings/cookies">
          Choose
        </a>
      </div>
    </section>
  );
}
