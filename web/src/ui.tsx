// The few pieces every page is made of: a page frame that titles the document and takes
// the focus on arrival (so a screen reader hears where it is), messages that are
// announced, and a hook for loading and one for actions with their busy and error state.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem } from "./api/problems";
import { navigatedInApp } from "./router";

export function Page(props: { title: string; children: ComponentChildren; lead?: ComponentChildren }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} — Sora2 AI`;
    // After an in-app move, focus goes to the new page's heading, as a page load would
    // start reading there; on a real load the browser's own order stands.
    if (navigatedInApp()) h1.current?.focus({ preventScroll: true });
  }, [props.title]);
  return (
    <section class="page">
      <h1 ref={h1} tabIndex={-1}>
        {props.title}
      </h1>
      {props.lead && <p class="lead">{props.lead}</p>}
      {props.children}
    </section>
  );
}

export function Alert(props: { kind: "error" | "info" | "success"; children: ComponentChildren }) {
  return (
    <div class={`alert alert-${props.kind}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

export function ErrorText(props: { error: unknown }) {
  if (!props.error) return null;
  return <Alert kind="error">{message(props.error)}</Alert>;
}

/** What could not be loaded, why, and a way to try again: never "Loading…" for ever
 * when the API answers 5xx or cannot be reached. */
export function LoadError(props: { error: unknown; what: string; retry: () => void }) {
  if (!props.error) return null;
  return (
    <Alert kind="error">
      {props.what} could not be loaded. {message(props.error)}{" "}
      <button type="button" class="link" onClick={props.retry}>
        Try again
      </button>
    </Alert>
  );
}

export function message(error: unknown): string {
  if (error instanceof ApiProblem || error instanceof Error) return error.message;
  return "Something went wrong. Please try again.";
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` now and whenever `deps` change. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, set] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    set((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && set({ data, loading: false }),
      (error) => live && set({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Runs an action once at a time, keeping its error (or null) for the page to show. */
export function useAction(): {
  busy: boolean;
  error: unknown;
  run: (action: () => Promise<void>) => Promise<void>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

export function Loading(props: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {props.what}…
    </p>
  );
}
