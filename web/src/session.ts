// The session token lives in localStorage under one key, and nowhere else (no cookie):
// the API takes it only as `Authorization: Bearer`, so a request another site makes
// the browser send carries no credential (no CSRF), and the strict CSP (no inline or
// third-party script) is what keeps other code from reading it (ARCHITECTURE.md).
import { useEffect, useState } from "preact/hooks";

const KEY = "sora2.session";
const listeners = new Set<() => void>();

export function token(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(value: string | null): void {
  if (value) localStorage.setItem(KEY, value);
  else localStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

// Another tab signing in or out changes this one too.
window.addEventListener("storage", (e) => {
  if (e.key === KEY) listeners.forEach((l) => l());
});

/** The current token, re-rendering the caller when it changes. */
export function useToken(): string | null {
  const [value, set] = useState(token());
  useEffect(() => {
    const l = () => set(token());
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return value;
}
