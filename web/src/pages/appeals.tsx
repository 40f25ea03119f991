// Appeals (R46): every refusal of a prompt or an image, and every video refused or
// removed later, can be contested here; an operator answers within 14 days, and the
// outcome shows in the list (and arrives by email).
import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useLocation, navigate } from "../router";
import { dateTime, date } from "../format";
import { Alert, ErrorText, LoadError, Loading, Page, useAction, useLoad } from "../ui";

const OUTCOME: Record<string, string> = {
  open: "Waiting for an answer",
  upheld: "Upheld: the decision was withdrawn",
  rejected: "Not upheld: the decision stands",
};

export function Appeals() {
  const loc = useLocation();
  const refusal = loc.query.get("refusal");
  const video = loc.query.get("video");
  const list = useLoad(() => ok(api().GET("/v1/appeals")), []);
  const [message, setMessage] = useState("");
  const action = useAction();
  const [filed, setFiled] = useState<string | null>(null);
  const appealing = (refusal || video) && !filed;

  const submit = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const appeal = await ok(
        api().POST("/v1/appeals", {
          body: refusal ? { refusal_id: refusal, message } : { video_id: video ?? "", message },
        }),
      );
      setFiled(appeal.due_by);
      setMessage("");
      navigate("/appeals", true);
      list.reload();
    });
  };

  return (
    <Page
      title="Appeals"
      lead="If we refused a prompt or an image, or removed a video, and you think we were wrong, tell us why. A person reviews every appeal within 14 days and emails you the outcome."
    >
      {filed && (
        <Alert kind="success">
          Your appeal was sent. You will have an answer by {date(filed)}.
        </Alert>
      )}
      {appealing && (
        <form class="stack card" onSubmit={submit}>
          <h2>Appeal a decision</h2>
          <p class="muted">
            Reference: {refusal ?? `video ${video}`}
          </p>
          <div class="field">
            <label for="appeal-message">Why the decision is wrong</label>
            <textarea
              id="appeal-message"
              rows={5}
              maxLength={2000}
              required
              value={message}
              onInput={(e) => setMessage(e.currentTarget.value)}
            />
          </div>
          <ErrorText error={action.error} />
          <button type="submit" disabled={action.busy}>
            {action.busy ? "Sending…" : "Send appeal"}
          </button>
        </form>
      )}
      <h2>Your appeals</h2>
      {list.loading && !list.data && <Loading what="your appeals" />}
      <LoadError error={list.error} what="Your appeals" retry={list.reload} />
      {list.data && list.data.items.length === 0 && <p class="muted">You have not appealed anything.</p>}
      {list.data && list.data.items.length > 0 && (
        <ul class="cards">
          {list.data.items.map((a) => (
            <li key={a.id} class="card">
              <p>
                <strong>{OUTCOME[a.status] ?? a.status}</strong>
              </p>
              <dl class="facts">
                <dt>Sent</dt>
                <dd>{dateTime(a.created_at)}</dd>
                {a.status === "open" ? (
                  <>
                    <dt>Answer due by</dt>
                    <dd>{date(a.due_by)}</dd>
                  </>
                ) : (
                  <>
                    <dt>Decided</dt>
                    <dd>{dateTime(a.decided_at)}</dd>
                  </>
                )}
                {a.reason && (
                  <>
                    <dt>Reason</dt>
                    <dd>{a.reason}</dd>
                  </>
                )}
              </dl>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
