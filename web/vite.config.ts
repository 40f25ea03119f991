// Builds the site into dist/. Two checks of ours run in the build:
// - the privacy policy is the site owner's text, read from POLICY_FILE (by default the
//   owner's file beside the project; `scripts/policy-file.sh` picks it) and emitted as
//   /privacy-policy.txt: never copied into web/;
// - the home page's initial JavaScript stays within its budget (gzipped), else the
//   build fails; the figure is written to dist/budget.json.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

const POLICY_FILE = resolve(
  __dirname,
  process.env.POLICY_FILE ?? "../../shared/seed/privacy-policy.txt",
);
const INITIAL_JS_BUDGET = 100 * 1024;

// The version consents are given under is the policy's "Last updated" date.
function policyVersion(): string {
  const m = /^Last updated: (\d{4}-\d{2}-\d{2})$/m.exec(readFileSync(POLICY_FILE, "utf8"));
  if (!m) throw new Error(`${POLICY_FILE} has no "Last updated: YYYY-MM-DD" line`);
  return m[1];
}

function policy(): Plugin {
  return {
    name: "sora2-policy",
    configureServer(server) {
      server.middlewares.use("/privacy-policy.txt", (_req, res) => {
        res.setHeader("content-type", "text/plain; charset=utf-8");
        res.end(readFileSync(POLICY_FILE));
      });
    },
    generateBundle() {
      this.emitFile({
        type: "asset",
        fileName: "privacy-policy.txt",
        source: readFileSync(POLICY_FILE, "utf8"),
      });
    },
  };
}

function budget(): Plugin {
  let outDir = "dist";
  return {
    name: "sora2-budget",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle(_options, bundle) {
      const seen = new Set<string>();
      const visit = (name: string) => {
        const chunk = bundle[name];
        if (!chunk || chunk.type !== "chunk" || seen.has(name)) return;
        seen.add(name);
        chunk.imports.forEach(visit);
      };
      // The home page is index.html: the scripts it names (its module and preloads)
      // and everything they import. (Its script is shared with share.html, so no chunk
      // is an entry of its own.)
      const home = bundle["index.html"];
      const html = home && home.type === "asset" ? String(home.source) : "";
      for (const m of html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)) visit(m[1]);
      if (seen.size === 0) throw new Error("index.html names no script: the budget cannot be measured");
      let gzipped = 0;
      for (const name of seen) {
        const chunk = bundle[name];
        if (chunk.type === "chunk") gzipped += gzipSync(chunk.code).length;
      }
      const report = { initial_js_gzip_bytes: gzipped, budget_bytes: INITIAL_JS_BUDGET, files: [...seen] };
      writeFileSync(resolve(outDir, "budget.json"), JSON.stringify(report, null, 2));
      if (gzipped > INITIAL_JS_BUDGET) {
        throw new Error(`initial JavaScript is ${gzipped} bytes gzipped, over the budget of ${INITIAL_JS_BUDGET}`);
      }
      this.info(`initial JavaScript: ${gzipped} bytes gzipped (budget ${INITIAL_JS_BUDGET})`);
    },
  };
}

export default defineConfig({
  plugins: [policy(), budget()],
  define: { __POLICY_VERSION__: JSON.stringify(policyVersion()) },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    target: "es2022",
    sourcemap: false,
    assetsInlineLimit: 0,
    // Two pages of one app: every page, and a shared video's (/s/{token}, R49), whose
    // head is what a link preview reads.
    rollupOptions: {
      input: { index: resolve(__dirname, "index.html"), share: resolve(__dirname, "share.html") },
    },
  },
  server: {
    port: 5173,
    // The watch mode (`npm run watch`): the API and emulators of `make dev` behind it.
    proxy: {
      "/v1": "http://127.0.0.1:3000",
      "/_local": "http://127.0.0.1:3000",
      "/config.json": "http://127.0.0.1:3000",
    },
  },
});
