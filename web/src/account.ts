// The signed-in person (`GET /v1/me`), shared by the pages that show it, reloaded after
// a change and forgotten when the session ends.
import { api, ok } from "./api/client";
import type { components } from "./api/schema";
import { token } from "./session";
import { store, useStore } from "./store";

export type Me = components["schemas"]["Me"];

const current = store<Me | null>(null);
// Why the last load failed (an `ApiProblem` with the sentence to show), so a page
// waiting for the person can say so instead of waiting for ever; null after a success.
const failure = store<unknown>(null);

function publish(me: Me | null, problem: unknown = null) {
  failure.set(problem);
  current.set(me);
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
  } catch (problem) {
    publish(null, problem);
    return null;
  }
}

export function setMe(me: Me | null): void {
  publish(me);
}

export function useMe(): Me | null {
  return useStore(current);
}

/** Why the signed-in person could not be loaded, or null. */
export function useMeProblem(): unknown {
  return useStore(failure);
}
