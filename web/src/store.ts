// A value several components show, re-rendering each of them when it changes: the
// session, the signed-in person, the cookie choice and the page's location are each one.
import { useEffect, useState } from "preact/hooks";

export interface Store<T> {
  /** The value now. */
  get(): T;
  /** Replaces the value and tells everyone who subscribed. */
  set(value: T): void;
  /** Calls `listener` after every `set`; the returned function stops it. */
  subscribe(listener: () => void): () => void;
}

export function store<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next) {
      value = next;
      listeners.forEach((l) => l());
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The store's value, re-rendering the caller when it changes. */
export function useStore<T>(s: Store<T>): T {
  const [value, set] = useState<{ value: T }>({ value: s.get() });
  useEffect(() => {
    const sync = () => set((seen) => (seen.value === s.get() ? seen : { value: s.get() }));
    // A change between the first render and this subscription is not missed.
    sync();
    return s.subscribe(sync);
  }, [s]);
  return value.value;
}
