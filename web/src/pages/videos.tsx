// My videos: newest first, paged, filtered by status and model (kept in the address, so
// a reload or a shared bookmark keeps them); a video still being made is asked about
// again when the API's Retry-After says it is worth it (with its ETag, so an unchanged
// one costs a 304); a ready one plays and downloads; each says when it will be deleted
// (R15) and can be made again.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { describe, ruleName } from "../api/problems";
import type { components, operations } from "../api/schema";
import { refreshMe } from "../account";
import { credits, date, dateTime, until } from "../format";
import { navigate, useLocation } from "../router";
import { Alert, ErrorText, LoadError, Loading, Page, useAction, useLoad } from "../ui";

/** Why a video was not made, in plain words. */
const ERRORS: Record<string, string> = {
  provider_refused: "the video provider refused to make it under its content rules; its credits were returned",
  timed_out: "it took too long and was stopped; its credits were returned",
  provider_unavailable: "no video provider could make it; its credits were returned",
};

type Video = components["schemas"]["Video"];
const WORKING = new Set<components["schemas"]["JobStatus"]>(["queued", "generating"]);
const DEFAULT_WAIT_S = 5;

/** The statuses the library can be filtered by, as the filter names them. */
const FILTERS: [string, string][] = [
  ["queued", "Waiting to start"],
  ["generating", "Being made"],
  ["ready", "Ready"],
  ["failed", "Failed"],
  ["rejected", "Refused"],
  ["expired", "Expired"],
];

const STATUS_TEXT: Record<components["schemas"]["JobStatus"], string> = {
  queued: "Waiting to start",
  generating: "Being made",
  ready: "Ready",
  failed: "Failed — credits refunded",
  rejected: "Refused — credits refunded",
  expired: "Expired and deleted",
  deleted: "Deleted",
};

/** Follows one video until it is done, at the pace the API asks for. */
function usePolled(initial: Video): Video {
  const [video, setVideo] = useState(initial);
  useEffect(() => setVideo(initial), [initial]);
  useEffect(() => {
    if (!WORKING.has(video.status)) return;
    let live = true;
    let etag: string | null = null;
    let timer: number | undefined;
    const ask = async (): Promise<number> => {
      try {
        const answer = await api().GET("/v1/videos/{id}", {
          params: { path: { id: video.id }, header: etag ? { "If-None-Match": etag } : {} },
        });
        const wait = Number(answer.response.headers.get("retry-after")) || DEFAULT_WAIT_S;
        if (answer.response.status === 304) return wait;
        if (answer.data) {
          etag = answer.response.headers.get("etag");
          if (live) setVideo(answer.data);
          if (!WORKING.has(answer.data.status)) {
            refreshMe();
            return 0;
          }
        }
        return wait;
      } catch {
        return DEFAULT_WAIT_S * 2;
      }
    };
    const loop = async () => {
      const wait = await ask();
      if (live && wait > 0) timer = window.setTimeout(loop, wait * 1000);
    };
    timer = window.setTimeout(loop, DEFAULT_WAIT_S * 1000);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [video.id, WORKING.has(video.status)]);
  return video;
}

/** R49: an unlisted link to a ready video, the owner's choice: made, shown, revoked. */
function Share(props: { video: Video }) {
  const [link, setLink] = useState(props.video.shared ?? null);
  const [showPrompt, setShowPrompt] = useState(false);
  const action = useAction();
  const id = props.video.id;
  const share = () =>
    action.run(async () => {
      const r = await ok(
        api().POST("/v1/videos/{id}/share", { params: { path: { id } }, body: { show_prompt: showPrompt } }),
      );
      setLink(r);
    });
  const stop = () =>
    action.run(async () => {
      const answer = await api().DELETE("/v1/videos/{id}/share", { params: { path: { id } } });
      if (!answer.response.ok) throw describe(answer.error as never, answer.response);
      setLink(null);
    });
  return (
    <div class="stack share">
      <ErrorText error={action.error} />
      {link ? (
        <>
          <label for={`share-${id}`}>Share link (anyone with it can watch until the video is deleted)</label>
          <input id={`share-${id}`} type="text" readOnly value={link.url} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" class="secondary" onClick={stop} disabled={action.busy}>
            Stop sharing
          </button>
        </>
      ) : (
        <>
          <label class="check">
            <input type="checkbox" checked={showPrompt} onChange={(e) => setShowPrompt(e.currentTarget.checked)} />
            Show the prompt on the shared page
          </label>
          <button type="button" class="secondary" onClick={share} disabled={action.busy}>
            Create a share link
          </button>
        </>
      )}
    </div>
  );
}

function VideoCard(props: { video: Video; onDeleted: (id: string) => void; highlight: boolean }) {
  const v = usePolled(props.video);
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const remove = () =>
    action.run(async () => {
      const answer = await api().DELETE("/v1/videos/{id}", { params: { path: { id: v.id } } });
      if (!answer.response.ok) throw describe(answer.error as never, answer.response);
      props.onDeleted(v.id);
    });
  const title = v.prompt ? (v.prompt.length > 80 ? `${v.prompt.slice(0, 80)}…` : v.prompt) : "Video";
  return (
    <li class={`card video${props.highlight ? " new" : ""}`} aria-labelledby={`v-${v.id}`}>
      <h3 id={`v-${v.id}`}>{title}</h3>
      <p>
        <span class={`status status-${v.status}`}>{STATUS_TEXT[v.status] ?? v.status}</span>{" "}
        <span class="tag" title="This video was made by artificial intelligence">
          AI-generated
        </span>
      </p>
      {WORKING.has(v.status) && (
        <p class="muted" role="status" aria-live="polite">
          {v.status === "queued" ? "Queued" : "Generating"}
          {v.eta_seconds !== undefined && v.eta_seconds !== null
            ? v.eta_seconds > 0
              ? `, about ${v.eta_seconds < 90 ? `${v.eta_seconds} seconds` : `${Math.round(v.eta_seconds / 60)} minutes`} left`
              : ", any moment now"
            : ""}
          … this page updates by itself.
        </p>
      )}
      {v.status === "ready" && v.download_url && (
        <>
          <video class="player" controls preload="metadata" src={v.download_url} aria-label={`Play: ${title}`} />
          <p>
            <a class="button secondary" href={v.download_url} download>
              Download video
            </a>
          </p>
          <p class="muted">
            The file carries content credentials (C2PA) saying it was generated by AI, as the law asks.
          </p>
          <Share video={v} />
        </>
      )}
      {v.error && (
        <p class="muted">
          What happened: {ERRORS[v.error.code] ?? v.error.code.replace(/_/g, " ")}
          {v.error.categories && <> (reason: {v.error.categories.map(ruleName).join(", ")})</>}
          {v.status === "rejected" && (
            <>
              {" "}
              <a href={`/appeals?video=${encodeURIComponent(v.id)}`}>Appeal this decision</a>
            </>
          )}
        </p>
      )}
      <dl class="facts">
        <dt>Made with</dt>
        <dd>
          {v.model}
          {v.provider ? ` (via ${v.provider})` : ""}, {v.seconds} s, {v.aspect_ratio}
          {v.audio ? ", with sound" : ""}
        </dd>
        <dt>Cost</dt>
        <dd>{credits(v.cost)}</dd>
        <dt>Created</dt>
        <dd>{dateTime(v.created_at)}</dd>
        {v.expires_at && (
          <>
            <dt>Deleted automatically</dt>
            <dd>
              on {date(v.expires_at)} ({until(v.expires_at)})
            </dd>
          </>
        )}
      </dl>
      <ErrorText error={action.error} />
      <p>
        <a class="button secondary" href={`/create?again=${encodeURIComponent(v.id)}`}>
          Make again
        </a>
      </p>
      {v.status !== "deleted" && v.status !== "expired" &&
        (confirming ? (
          <div class="confirm" role="group" aria-label="Confirm deletion">
            <p>Delete this video and its image for good? This cannot be undone.</p>
            <button type="button" class="danger" onClick={remove} disabled={action.busy}>
              Yes, delete it
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        ) : (
          <button type="button" class="secondary" onClick={() => setConfirming(true)}>
            Delete video
          </button>
        ))}
    </li>
  );
}

type ListQuery = NonNullable<operations["list_videos"]["parameters"]["query"]>;

export function Videos() {
  const here = useLocation();
  const fresh = here.query.get("new");
  const status = here.query.get("status") ?? "";
  const model = here.query.get("model") ?? "";
  const models = useLoad(() => ok(api().GET("/v1/models")), []);
  const [items, setItems] = useState<Video[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const more = useAction();
  // The filters the list shows: an answer asked under others (the filter changed while
  // it was on its way) is dropped, its items and its cursor both.
  const shown = useRef("");
  shown.current = `${status}|${model}`;
  const load = (after: string | null) =>
    more.run(async () => {
      const asked = `${status}|${model}`;
      const query: ListQuery = {};
      if (after) query.cursor = after;
      if (status) query.status = status as ListQuery["status"];
      if (model) query.model = model;
      const page = await ok(api().GET("/v1/videos", { params: { query } }));
      if (asked !== shown.current) return;
      setItems((prev) => [...(after && prev ? prev : []), ...page.items]);
      setCursor(page.next_cursor ?? null);
    });
  useEffect(() => {
    setItems(null);
    setCursor(null);
    load(null);
  }, [status, model]);
  /** The filters in the address: the page reads them back from there. */
  const filter = (name: "status" | "model", value: string) => {
    const query = new URLSearchParams(here.query);
    query.delete("new");
    if (value) query.set(name, value);
    else query.delete(name);
    const text = query.toString();
    navigate(`/videos${text ? `?${text}` : ""}`, true);
  };
  const filtered = status !== "" || model !== "";
  return (
    <Page title="My videos">
      {fresh && <Alert kind="success">Your video is on its way. It appears below as soon as it is ready.</Alert>}
      <form class="row filters" role="search" aria-label="Filter your videos" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={status} onChange={(e) => filter("status", e.currentTarget.value)}>
            <option value="">All</option>
            {FILTERS.map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-model">Model</label>
          <select id="filter-model" value={model} onChange={(e) => filter("model", e.currentTarget.value)}>
            <option value="">All</option>
            {models.data?.items.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </div>
      </form>
      {items === null && !more.error && <Loading what="your videos" />}
      {items === null ? (
        <LoadError error={more.error} what="Your videos" retry={() => load(null)} />
      ) : (
        <ErrorText error={more.error} />
      )}
      {items?.length === 0 &&
        !cursor &&
        (filtered ? (
          <p role="status">
            No videos match these filters. <a href="/videos">Show all videos</a>
          </p>
        ) : (
          <p>
            No videos yet. <a href="/create">Create your first one</a>.
          </p>
        ))}
      <ul class="cards videos">
        {items?.map((v) => (
          <VideoCard
            key={v.id}
            video={v}
            highlight={v.id === fresh}
            onDeleted={(id) => setItems((prev) => prev?.filter((x) => x.id !== id) ?? null)}
          />
        ))}
      </ul>
      {cursor && (
        <button type="button" class="secondary" onClick={() => load(cursor)} disabled={more.busy}>
          Show older videos
        </button>
      )}
    </Page>
  );
}
