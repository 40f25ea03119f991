// A small history router: a page is a path; links are plain <a href> that this turns
// into in-app navigations, so they work with the keyboard, middle-click and reload.
import { store, useStore } from "./store";

export interface Location {
  path: string;
  query: URLSearchParams;
}

function read(): Location {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

const here = store(read());
let moves = 0;

/** Whether the page changed in the app since it loaded (then the new page takes focus). */
export function navigatedInApp(): boolean {
  return moves > 0;
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  moves++;
  here.set(read());
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  moves++;
  here.set(read());
});

document.addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/_local/") || url.pathname.startsWith("/v1/")) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

export function useLocation(): Location {
  return useStore(here);
}
