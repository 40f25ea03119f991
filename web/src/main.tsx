import { render } from "preact";
import { configure } from "./api/client";
import { loadConfig } from "./config";
import { refreshMe } from "./account";
import { syncCookies } from "./cookies";
import { App } from "./app";
import "./styles.css";

const config = await loadConfig();
configure(config.api_base);
await refreshMe();
syncCookies().catch(() => undefined);
render(<App config={config} />, document.getElementById("app")!);
