// What the page learns at start from /config.json: where the API is (empty: this
// origin) and how "Sign in with Google" works — Google Identity Services in a
// deployment, the local account chooser on `make dev`. One build serves every stage.
export interface SiteConfig {
  api_base: string;
  google: { client_id: string; mode: "gis" | "emulator" | "off" };
}

export async function loadConfig(): Promise<SiteConfig> {
  const fallback: SiteConfig = { api_base: "", google: { client_id: "", mode: "off" } };
  try {
    const res = await fetch("/config.json", { cache: "no-cache" });
    if (!res.ok) return fallback;
    return { ...fallback, ...((await res.json()) as Partial<SiteConfig>) };
  } catch {
    return fallback;
  }
}
