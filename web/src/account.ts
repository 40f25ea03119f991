// The signed-in person (`GET /v1/me`), shared by the pages that show it, reloaded after
// a change and forgotten when the session ends.
import { useEffect, useState } from "preact/hooks";
import { api, ok } from "./api/client";
import type { components } from "./api/schema";
import { token } from "./session";

export type Me = components["schemas"]["Me"];

let current: Me | null = null;
const listeners = new Set<() => void>();

function publish(me: Me | null) {
  current = me;
  listeners.forEach((l) => l());
}

export async function refreshMe(): Promise<Me | null> {
  if (!token()) {
    publish(null);
    return null;
  }
  try {
    const me = await ok(api().GET("/v1/me"));
    publish(me);
    return me;
  } catch {
    publish(null);
    return null;
  }
}

export function setMe(me: Me | null): void {
  publish(me);
}

export function useMe(): Me | null {
  const [me, set] = useState(current);
  useEffect(() => {
    const l = () => set(current);
    listeners.add(l);
    set(current);
    return () => listeners.delete(l);
  }, []);
  return me;
}
