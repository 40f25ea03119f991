// Where the unsubscribe link of a marketing email lands (R24): no sign-in; it says what
// the link does, and one button stops the email (the same call as the one-click header).
import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useLocation } from "../router";
import { Alert, ErrorText, Page, useAction } from "../ui";

export function Unsubscribe() {
  const token = useLocation().query.get("token") ?? "";
  const [done, setDone] = useState(false);
  const action = useAction();
  const stop = () =>
    action.run(async () => {
      await ok(api().POST("/v1/unsubscribe", { params: { query: { token } } }));
      setDone(true);
    });
  return (
    <Page title="Unsubscribe from marketing email">
      {!token ? (
        <Alert kind="error">This link has no token. Use the unsubscribe link from the email itself.</Alert>
      ) : done ? (
        <Alert kind="success">
          You are unsubscribed. We will send you no more news or offers. Emails about your account and your videos
          still reach you.
        </Alert>
      ) : (
        <>
          <p>
            Stop news and offers from Sora2 AI at this address. No sign-in is needed. Emails about your account (sign-in
            codes, finished videos, requests you make) are not affected.
          </p>
          <ErrorText error={action.error} />
          <button type="button" onClick={stop} disabled={action.busy}>
            Unsubscribe
          </button>
        </>
      )}
    </Page>
  );
}
