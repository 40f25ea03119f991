// The frame of every page (skip link, navigation, footer, cookie banner, policy
// notice) and the table of pages.
import { Component, type ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { SiteConfig } from "./config";
import { useLocation, navigate } from "./router";
import { useToken } from "./session";
import { refreshMe, useMe } from "./account";
import { CookieBanner, syncCookies } from "./cookies";
import { PolicyNotice } from "./pages/policy";
import { Home } from "./pages/home";
import { PolicyPage } from "./pages/policy";
import { Unsubscribe } from "./pages/unsubscribe";
import { SignIn, GoogleReturn } from "./pages/signin";
import { Create } from "./pages/create";
import { Videos } from "./pages/videos";
import { Credits, CheckoutResult } from "./pages/credits";
import { AccountPage } from "./pages/account";
import { Appeals } from "./pages/appeals";
import { SharedVideo } from "./pages/shared";
import { PrivacySettings, CookieSettings } from "./pages/privacy";
import { Alert, Page } from "./ui";

function SignedIn(props: { children: ComponentChildren }) {
  const t = useToken();
  useEffect(() => {
    if (!t) navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, true);
  }, [t]);
  return t ? <>{props.children}</> : null;
}

/**
 * An error while showing a page leaves the frame and the navigation in place and says
 * what happened, instead of an empty page. Keyed by the path, so going to another
 * page starts afresh.
 */
class PageBoundary extends Component<{ children: ComponentChildren }, { failed: boolean }> {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  componentDidCatch(error: unknown) {
    // The details still reach the console for debugging; the person sees the page below.
    console.error(error);
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <Page title="Something went wrong">
        <Alert kind="error">This page could not be shown because of an error on our side. Reloading it usually helps.</Alert>
        <div class="actions">
          <button type="button" onClick={() => location.reload()}>
            Reload the page
          </button>
          <a class="button secondary" href="/">
            Go to the home page
          </a>
        </div>
      </Page>
    );
  }
}

function route(path: string, config: SiteConfig) {
  if (path.startsWith("/s/")) return <SharedVideo token={path.slice(3)} />;
  switch (path) {
    case "/":
      return <Home />;
    case "/privacy":
      return <PolicyPage />;
    case "/unsubscribe":
      return <Unsubscribe />;
    case "/signin":
      return <SignIn config={config} />;
    case "/signin/google":
      return <GoogleReturn />;
    case "/settings/cookies":
      return <CookieSettings />;
    case "/create":
      return <SignedIn><Create /></SignedIn>;
    case "/videos":
      return <SignedIn><Videos /></SignedIn>;
    case "/credits":
      return <SignedIn><Credits /></SignedIn>;
    case "/billing/success":
      return <SignedIn><CheckoutResult /></SignedIn>;
    case "/account":
      return <SignedIn><AccountPage config={config} /></SignedIn>;
    case "/settings/privacy":
      return <SignedIn><PrivacySettings /></SignedIn>;
    case "/appeals":
      return <SignedIn><Appeals /></SignedIn>;
    default:
      return (
        <Page title="Page not found">
          <p>
            There is no page here. Go to the <a href="/">home page</a>.
          </p>
        </Page>
      );
  }
}

export function App(props: { config: SiteConfig }) {
  const loc = useLocation();
  const t = useToken();
  const me = useMe();
  // A sign-in or sign-out (here or in another tab) reloads who is signed in; the first
  // load did it already (main.tsx).
  const [firstToken] = useState(t);
  useEffect(() => {
    if (t === firstToken) return;
    refreshMe().then(() => syncCookies().catch(() => undefined));
  }, [t]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <nav aria-label="Main">
          <a class="brand" href="/">
            Sora2 AI
          </a>
          <ul>
            {t ? (
              <>
                <li><a href="/create" aria-current={loc.path === "/create" ? "page" : undefined}>Create</a></li>
                <li><a href="/videos" aria-current={loc.path === "/videos" ? "page" : undefined}>My videos</a></li>
                <li>
                  <a href="/credits" aria-current={loc.path === "/credits" ? "page" : undefined}>
                    Credits{me ? <span class="badge">{me.credits}</span> : null}
                  </a>
                </li>
                <li><a href="/account" aria-current={loc.path === "/account" ? "page" : undefined}>Account</a></li>
              </>
            ) : (
              <li><a href="/signin" class="button">Sign in</a></li>
            )}
          </ul>
        </nav>
      </header>
      {me && <PolicyNotice me={me} />}
      <main id="main">
        <PageBoundary key={loc.path}>{route(loc.path, props.config)}</PageBoundary>
      </main>
      <footer class="bottom">
        <ul>
          <li><a href="/privacy">Privacy policy</a></li>
          <li><a href="/settings/cookies">Cookie settings</a></li>
          {t && <li><a href="/settings/privacy">Your data and rights</a></li>}
          {t && <li><a href="/appeals">Appeals</a></li>}
          <li><a href="mailto:support@sora2ai.info">Contact</a></li>
        </ul>
        <p>Videos on this site are made by AI and are labelled as such.</p>
      </footer>
      <CookieBanner />
    </>
  );
}
