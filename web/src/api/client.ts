// The API client: openapi-fetch over the types that openapi-typescript generates from
// infra/openapi.yaml (`npm run client`; the build fails when they are stale).
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { describe } from "./problems";
import { setToken, token } from "../session";

export type Api = ReturnType<typeof createClient<paths>>;

let client: Api = createClient<paths>({ baseUrl: location.origin });

export function configure(apiBase: string): void {
  client = createClient<paths>({ baseUrl: apiBase || location.origin });
  client.use({
    onRequest({ request }) {
      const t = token();
      if (t && !request.headers.has("authorization")) request.headers.set("authorization", `Bearer ${t}`);
      return request;
    },
    onResponse({ response }) {
      // A session that ended (signed out elsewhere, account deleted) is forgotten here.
      if (response.status === 401 && token()) setToken(null);
      return response;
    },
  });
}

export function api(): Api {
  return client;
}

interface Answer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The answer's body, or an `ApiProblem` thrown with the sentence to show. */
export async function ok<R extends Answer>(call: Promise<R>): Promise<NonNullable<R["data"]>> {
  let answer: R;
  try {
    answer = await call;
  } catch {
    throw describe(
      { code: "service_unavailable" },
      new Response(null, { status: 503 }),
    );
  }
  if (answer.error !== undefined || !answer.response.ok) {
    throw describe(answer.error as never, answer.response);
  }
  return answer.data as NonNullable<R["data"]>;
}
