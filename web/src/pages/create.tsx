// Create a video: from text, or from text and an image picked from disk (previewed, then
// PUT straight to storage with the presigned URL the API gives). The price and the
// balance are shown before anything is sent; refusals are shown as the API gives them.
// "Make again" (`/create?again={id}`) opens the form filled in from a past video: its
// model, prompt, length, aspect ratio and sound, and its image while it is still kept.
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { ApiProblem, ruleName } from "../api/problems";
import type { components } from "../api/schema";
import { refreshMe, useMe } from "../account";
import { credits, dateTime } from "../format";
import { navigate, useLocation } from "../router";
import { Alert, ErrorText, LoadError, Loading, Page, useAction, useLoad } from "../ui";

type Model = components["schemas"]["ModelView"];
type Video = components["schemas"]["Video"];
type ImageType = components["schemas"]["ImageType"];
const IMAGE_TYPES: ImageType[] = ["image/jpeg", "image/png", "image/webp"];
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

/** A WebP image as a PNG: the image check (R45) reads JPEG and PNG only, so the page
 * converts what the person picked rather than refuse it. */
async function screenable(file: File): Promise<File> {
  if (file.type !== "image/webp") return file;
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("2d")!.drawImage(bitmap, 0, 0);
  const blob = await new Promise<Blob | null>((done) => canvas.toBlob(done, "image/png"));
  if (!blob || blob.size > MAX_IMAGE_BYTES) throw new Error("This WebP image could not be used. Pick a JPEG or PNG image.");
  return new File([blob], file.name.replace(/\.webp$/i, ".png"), { type: "image/png" });
}

/** PUTs the image to storage with the upload the API granted; returns its id. */
async function upload(picked: File): Promise<string> {
  const file = await screenable(picked);
  const grant = await ok(
    api().POST("/v1/uploads", { body: { content_type: file.type as ImageType, size: file.size } }),
  );
  let res: Response;
  try {
    res = await fetch(grant.upload_url, {
      method: grant.method,
      headers: { "content-type": grant.headers["content-type"] },
      body: file,
    });
  } catch {
    throw new Error("The image could not be uploaded (network). Check your connection and try again.");
  }
  if (!res.ok) throw new Error(`The image could not be uploaded (storage answered ${res.status}). Try again.`);
  return grant.id;
}

/** The video being made again, if the address names one. */
function useAgain(id: string | null) {
  return useLoad(
    () => (id ? ok(api().GET("/v1/videos/{id}", { params: { path: { id } } })) : Promise.resolve(null)),
    [id],
  );
}

export function Create() {
  const me = useMe();
  const models = useLoad(() => ok(api().GET("/v1/models")), []);
  const againId = useLocation().query.get("again");
  const again = useAgain(againId);
  // The image of the video made again, while it is kept: used unless another is picked.
  const [reused, setReused] = useState<string | null>(null);
  const [modelId, setModelId] = useState<string>("");
  const [mode, setMode] = useState<"text" | "image">("text");
  const [prompt, setPrompt] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [seconds, setSeconds] = useState<number>(0);
  const [aspect, setAspect] = useState<string>("");
  const [audio, setAudio] = useState(true);
  // R45: the person's statement about the people shown in their image.
  const [likeness, setLikeness] = useState(false);
  const action = useAction();
  // One key per video being made: a retried click is the same job, charged once.
  const [idempotencyKey, setKey] = useState(() => crypto.randomUUID());

  const model: Model | undefined = useMemo(
    () => models.data?.items.find((m) => m.id === modelId) ?? models.data?.items.find((m) => m.default),
    [models.data, modelId],
  );
  useEffect(() => {
    if (!model) return;
    if (!model.seconds.includes(seconds)) setSeconds(model.seconds[0]);
    if (!model.aspect_ratios.includes(aspect)) setAspect(model.aspect_ratios[0]);
    if (!model.modes.includes(mode)) setMode("text");
    if (!model.audio) setAudio(false);
  }, [model]);
  // Filled in from the video made again, once both it and the models are here.
  // A setting the model no longer offers (or a model no longer offered) falls back to
  // what the model used now offers.
  useEffect(() => {
    const v: Video | null | undefined = again.data;
    const items = models.data?.items;
    if (!v || !items) return;
    const target = items.find((m) => m.id === v.model) ?? items.find((m) => m.default) ?? items[0];
    setModelId(target.id);
    setPrompt(v.prompt ?? "");
    setSeconds(target.seconds.includes(v.seconds) ? v.seconds : target.seconds[0]);
    setAspect(target.aspect_ratios.includes(v.aspect_ratio) ? v.aspect_ratio : target.aspect_ratios[0]);
    setAudio(target.audio && v.audio);
    const mode = target.modes.includes(v.mode) ? v.mode : "text";
    setMode(mode);
    setReused(mode === "image" ? (v.upload_id ?? null) : null);
    setLikeness(false);
  }, [again.data, models.data]);
  const preview = useMemo(() => (file ? URL.createObjectURL(file) : null), [file]);
  useEffect(() => () => { if (preview) URL.revokeObjectURL(preview); }, [preview]);

  const cost = model ? model.cost[String(seconds)] ?? 0 : 0;
  const short = me ? me.credits < cost : false;

  const pick = (f: File | undefined) => {
    setFileError(null);
    setFile(null);
    setLikeness(false);
    if (f) setReused(null);
    if (!f) return;
    if (!IMAGE_TYPES.includes(f.type as ImageType)) return setFileError("Pick a JPEG, PNG or WebP image.");
    if (f.size > MAX_IMAGE_BYTES) return setFileError("Pick an image of 10 MB or less.");
    setFile(f);
  };

  const submit = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      if (!model) return;
      if (mode === "image" && !file && !reused) throw new Error("Pick an image first.");
      const upload_id = mode !== "image" ? undefined : file ? await upload(file) : (reused ?? undefined);
      const job = await ok(
        api().POST("/v1/videos", {
          params: { header: { "Idempotency-Key": idempotencyKey } },
          body: {
            prompt,
            model: model.id,
            seconds,
            aspect_ratio: aspect as never,
            audio,
            upload_id,
            likeness_confirmed: upload_id ? likeness : undefined,
          },
        }),
      );
      setKey(crypto.randomUUID());
      setReused(null);
      await refreshMe();
      navigate(`/videos?new=${encodeURIComponent(job.id)}`);
    });
  };

  const refusal = action.error instanceof ApiProblem ? action.error : null;
  return (
    <Page title={againId ? "Make a video again" : "Create a video"}>
      {againId && again.loading && <Loading what="the video to make again" />}
      <LoadError error={again.error} what="The video to make again" retry={again.reload} />
      {again.data && (
        <Alert kind="info">
          Filled in from your video of {dateTime(again.data.created_at)}. Change what you like; nothing is sent until
          you create it.
          {again.data.prompt == null && " Its prompt is no longer kept: write it again."}
          {models.data && !models.data.items.some((m) => m.id === again.data!.model) &&
            " Its model is no longer offered: another one is chosen below."}
          {again.data.mode === "image" &&
            !again.data.upload_id &&
            " Its image is no longer kept (an image is deleted once its video is made): choose it again below."}
        </Alert>
      )}
      {models.loading && <Loading what="models" />}
      <LoadError error={models.error} what="The models" retry={models.reload} />
      {model && (
        <form class="stack" onSubmit={submit}>
          <div class="field">
            <label for="model">Model</label>
            <select id="model" value={model.id} onChange={(e) => setModelId(e.currentTarget.value)}>
              {models.data!.items.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </div>
          <fieldset>
            <legend>Start from</legend>
            <label class="check">
              <input type="radio" name="mode" checked={mode === "text"} onChange={() => setMode("text")} />
              Text only
            </label>
            <label class="check">
              <input
                type="radio"
                name="mode"
                checked={mode === "image"}
                disabled={!model.modes.includes("image")}
                onChange={() => setMode("image")}
              />
              Text and an image
            </label>
          </fieldset>
          {mode === "image" && (
            <div class="field">
              <label for="image">Image (JPEG, PNG or WebP, up to 10 MB)</label>
              <input id="image" type="file" accept={IMAGE_TYPES.join(",")} onChange={(e) => pick(e.currentTarget.files?.[0])} />
              {fileError && <Alert kind="error">{fileError}</Alert>}
              {preview && <img class="preview" src={preview} alt="Preview of the chosen image" />}
              {reused && !file && (
                <p class="hint" role="status">
                  Using the image of the video you are making again. Pick a file above to use another.
                </p>
              )}
              {(file || reused) && (
                <label class="check">
                  <input type="checkbox" checked={likeness} onChange={(e) => setLikeness(e.currentTarget.checked)} />
                  Everyone shown in this image agrees to appear in a video, or is me
                </label>
              )}
              <p class="hint">
                Images are checked before anything is charged. Images of children, and sexual or violent images,
                are refused.
              </p>
            </div>
          )}
          <div class="field">
            <label for="prompt">Prompt</label>
            <textarea
              id="prompt"
              rows={4}
              maxLength={2000}
              required
              aria-describedby="prompt-hint"
              value={prompt}
              onInput={(e) => setPrompt(e.currentTarget.value)}
            />
            <p class="hint" id="prompt-hint">
              Describe the scene, the motion and the sound. Leave out personal data: prompts with an email address,
              phone or card number are refused.
            </p>
          </div>
          <div class="row">
            <div class="field">
              <label for="seconds">Length</label>
              <select id="seconds" value={seconds} onChange={(e) => setSeconds(Number(e.currentTarget.value))}>
                {model.seconds.map((s) => (
                  <option key={s} value={s}>
                    {s} seconds
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="aspect">Aspect ratio</label>
              <select id="aspect" value={aspect} onChange={(e) => setAspect(e.currentTarget.value)}>
                {model.aspect_ratios.map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {model.audio && (
            <label class="check">
              <input type="checkbox" checked={audio} onChange={(e) => setAudio(e.currentTarget.checked)} />
              With sound
            </label>
          )}
          <p class="cost" role="status">
            This video costs <strong>{credits(cost)}</strong>. Your balance: <strong>{me ? credits(me.credits) : "…"}</strong>.
          </p>
          {short && (
            <Alert kind="info">
              You need {credits(cost - (me?.credits ?? 0))} more. <a href="/credits">Buy credits</a>
            </Alert>
          )}
          {refusal?.code === "insufficient_credits" ? (
            <Alert kind="error">
              {refusal.message} <a href="/credits">Buy credits</a>
            </Alert>
          ) : refusal?.refusal ? (
            <Alert kind="error">
              {refusal.message} Reason: {refusal.refusal.categories.map(ruleName).join(", ")}.{" "}
              <a href={`/appeals?refusal=${encodeURIComponent(refusal.refusal.id)}`}>Appeal this decision</a>
            </Alert>
          ) : (
            <ErrorText error={action.error} />
          )}
          <button type="submit" disabled={action.busy}>
            {action.busy ? "Sending…" : `Create video (${credits(cost)})`}
          </button>
        </form>
      )}
    </Page>
  );
}
