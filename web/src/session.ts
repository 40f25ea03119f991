// The session token lives in localStorage under one key, and nowhere else (no cookie):
// the API takes it only as `Authorization: Bearer`, so a request another site makes
// the browser send carries no credential (no CSRF), and the strict CSP (no inline or
// third-party script) is what keeps other code from reading it (ARCHITECTURE.md).
import { store, useStore } from "./store";

const KEY = "sora2.session";

function stored(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

const session = store(stored());

export function token(): string | null {
  return session.get();
}

export function setToken(value: string | null): void {
  if (value) localStorage.setItem(KEY, value);
  else localStorage.removeItem(KEY);
  session.set(value || null);
}

// Another tab signing in or out changes this one too.
window.addEventListener("storage", (e) => {
  if (e.key === KEY) session.set(stored());
});

/** The current token, re-rendering the caller when it changes. */
export function useToken(): string | null {
  return useStore(session);
}
