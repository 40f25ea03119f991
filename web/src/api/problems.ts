// The API's problem+json answers as sentences a person can act on. The `code` is the
// stable part of the contract (spec/api.md); the API's own `detail` is shown only for
// codes that carry specifics (which field is wrong).
import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];
export type ProblemCode = components["schemas"]["ProblemCode"];
export type SensitiveKind = components["schemas"]["SensitiveKind"];

const KIND_NAMES: Record<SensitiveKind, string> = {
  email: "an email address",
  phone: "a phone number",
  card_number: "a card number",
  iban: "a bank account number (IBAN)",
  national_id: "a national identity number",
  ip_address: "an IP address",
};

// Every code the API can answer has an entry, so a new one is a decision made here.
// `null`: the API's own `detail` is shown (it says which field or what was wrong), or
// the sentence is built from the answer (`rate_limited`, `sensitive_data_in_prompt`).
const MESSAGES: Record<ProblemCode, string | null> = {
  invalid_request: null,
  malformed_json: null,
  method_not_allowed: null,
  invalid_signature: null,
  rate_limited: null,
  sensitive_data_in_prompt: null,
  invalid_code: "That code is wrong or has expired. Ask for a new one and try again.",
  invalid_id_token: "Google's sign-in could not be checked. Please try again.",
  email_undeliverable: "We cannot send email to that address. Check it and try again.",
  age_confirmation_required: "To create an account, confirm that you are at least 13 years old.",
  email_not_verified: "Google has not verified that email address, so it cannot be used to sign in.",
  email_code_required: "This email address already has an account. Enter the code we emailed to it to connect Google.",
  identity_not_linked: "Google is not connected to this account.",
  account_suspended: "This account is suspended. Contact support if you think this is a mistake.",
  insufficient_credits: "You do not have enough credits for this video.",
  prompt_rejected: "This prompt was refused by our content rules. Nothing was charged.",
  image_rejected: "This image was refused by our content rules. Nothing was charged, and the image was deleted.",
  minor_in_image: "Someone in this image appears to be under 18, so it cannot be made into a video. Nothing was charged, and the image was deleted.",
  likeness_statement_required:
    "This image shows a person. Confirm that everyone shown agrees to appear in a video, or is you, then create again.",
  already_appealed: "You have already appealed this decision. Its outcome will be shown under Appeals.",
  not_ready: "Only a ready video can be shared.",
  plan_not_resumable: "This plan's paid period is over, so it cannot be resumed. Buy it again to start a new one.",
  moderation_unavailable: "We cannot check prompts and images right now, so nothing was made or charged. Try again in a minute.",
  invalid_upload: "That image upload is not usable. Pick the image again.",
  unknown_model: "That model is not offered. Pick another one.",
  model_unsupported: "The chosen model cannot make this video (mode, length or aspect ratio). Change the options.",
  idempotency_key_spent: "This request was already made.",
  idempotency_key_reused: "This request was already made with other details.",
  identity_conflict: "That Google account is already connected to another account.",
  account_being_deleted: "This account is being deleted.",
  account_blocked: "This address cannot be used to create an account.",
  email_taken: "That email address belongs to another account.",
  recent_sign_in_required: "For your safety, sign in again before doing this.",
  unknown_policy_version: "The privacy policy changed meanwhile. Reload the page and review it.",
  invalid_token: "This link is not valid. Use the link from the most recent email.",
  unauthorized: "Your session has ended. Please sign in again.",
  not_found: "That was not found. It may have been deleted.",
  payload_too_large: "That is too large to send.",
  unsupported_media_type: "That kind of file is not accepted.",
  service_unavailable: "A service we depend on is not answering. Try again shortly.",
  internal_error: "Something went wrong on our side. Please try again.",
};

/** The statement of reasons of a content refusal: its id, the rules, where to appeal. */
export interface Refusal {
  id: string;
  categories: string[];
}

/** A rule of a refusal, in plain words. */
export function ruleName(category: string): string {
  const names: Record<string, string> = {
    content_policy: "our content rules",
    minor: "a person who appears to be under 18",
    hate_symbols: "hate symbols",
    sexual_content: "sexual content",
    likeness_misuse: "misuse of someone's likeness",
  };
  return names[category] ?? category.replace(/_/g, " ");
}

/** A refused request, with the sentence to show. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    message: string,
    readonly kinds: SensitiveKind[] = [],
    readonly refusal: Refusal | null = null,
  ) {
    super(message);
  }
}

export function describe(problem: Partial<Problem> | undefined, response: Response): ApiProblem {
  const status = response.status;
  const code = problem?.code ?? (status >= 500 ? "internal_error" : "invalid_request");
  const kinds = problem?.kinds ?? [];
  // An API newer than this page may send a code it does not know yet.
  let message: string | null | undefined = MESSAGES[code];
  if (code === "rate_limited") {
    const after = Number(response.headers.get("retry-after") ?? "");
    message = Number.isFinite(after) && after > 0
      ? `Too many attempts. Try again in ${after < 120 ? `${after} seconds` : `${Math.ceil(after / 60)} minutes`}.`
      : "Too many attempts. Try again shortly.";
  } else if (code === "sensitive_data_in_prompt") {
    const names = kinds.map((k) => KIND_NAMES[k] ?? k.replace(/_/g, " "));
    message = `Your prompt seems to contain personal data (${names.join(", ")}). Remove it and try again; nothing was charged.`;
  } else if (!message) {
    // invalid_request, malformed_json and the like: the API says which field.
    message = problem?.detail || problem?.title || `The request failed (${status}).`;
  }
  const refusal = problem?.refusal_id
    ? { id: problem.refusal_id, categories: problem.categories ?? [] }
    : null;
  return new ApiProblem(status, code, message, kinds, refusal);
}
