// The privacy policy, as the site owner wrote it (served as /privacy-policy.txt from the
// file given at build time), and the notice shown when it changed since the person
// last accepted it (R34).
import { useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { refreshMe, type Me } from "../account";
import { ErrorText, LoadError, Loading, Page, useAction, useLoad } from "../ui";

interface Block {
  kind: "h2" | "h3" | "p" | "ul";
  lines: string[];
}

/** Lines to blocks: "- " lines are lists; a short line without a full stop is a heading. */
export function blocks(text: string): { title: string; updated: string; body: Block[] } {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const title = lines.shift() ?? "Privacy Policy";
  const updated = lines[0]?.startsWith("Last updated") ? lines.shift()! : "";
  const body: Block[] = [];
  for (const line of lines) {
    if (line.startsWith("- ")) {
      const last = body[body.length - 1];
      if (last?.kind === "ul") last.lines.push(line.slice(2));
      else body.push({ kind: "ul", lines: [line.slice(2)] });
    } else if (line.length < 70 && !/[.:;?!,]$/.test(line)) {
      const prev = body[body.length - 1];
      body.push({ kind: prev?.kind === "h2" ? "h3" : "h2", lines: [line] });
    } else {
      body.push({ kind: "p", lines: [line] });
    }
  }
  return { title, updated, body };
}

export function PolicyPage() {
  const text = useLoad(async () => {
    const res = await fetch("/privacy-policy.txt", { cache: "no-cache" });
    if (!res.ok) throw new Error("The privacy policy could not be loaded. Please reload the page.");
    return res.text();
  }, []);
  const doc = text.data ? blocks(text.data) : null;
  return (
    <Page title="Privacy policy">
      {text.loading && <Loading what="the privacy policy" />}
      <LoadError error={text.error} what="The privacy policy" retry={text.reload} />
      {doc && (
        <article class="policy">
          <p class="muted">{doc.title}</p>
          {doc.updated && <p><strong>{doc.updated}</strong></p>}
          {doc.body.map((b, i) =>
            b.kind === "ul" ? (
              <ul key={i}>{b.lines.map((l, j) => <li key={j}>{l}</li>)}</ul>
            ) : b.kind === "h2" ? (
              <h2 key={i}>{b.lines[0]}</h2>
            ) : b.kind === "h3" ? (
              <h3 key={i}>{b.lines[0]}</h3>
            ) : (
              <p key={i}>{b.lines[0]}</p>
            ),
          )}
        </article>
      )}
    </Page>
  );
}

export function PolicyNotice(props: { me: Me }) {
  const [hidden, setHidden] = useState(false);
  const action = useAction();
  if (!props.me.policy_update_available || hidden) return null;
  const accept = () =>
    action.run(async () => {
      await ok(api().PUT("/v1/me/consents", { body: { policy_version: props.me.policy_version_current as never } }));
      await refreshMe();
      setHidden(true);
    });
  return (
    <aside class="notice" aria-labelledby="policy-notice-title">
      <h2 id="policy-notice-title">Our privacy policy has changed</h2>
      <p>
        The policy of {props.me.policy_version_current} replaces the one you accepted on{" "}
        {props.me.policy_version_accepted}. <a href="/privacy">Read what changed</a>; your cookie and email choices stay
        as they are.
      </p>
      <ErrorText error={action.error} />
      <button type="button" onClick={accept} disabled={action.busy}>
        I have read it
      </button>
    </aside>
  );
}
