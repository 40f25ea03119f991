// Fails when src/api/schema.d.ts is not what openapi-typescript makes of
// infra/openapi.yaml now: the contract drives the client (`npm run client` updates it).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const fresh = join(mkdtempSync(join(tmpdir(), "sora2-client-")), "schema.d.ts");
execFileSync("npx", ["openapi-typescript", "../infra/openapi.yaml", "-o", fresh], { stdio: "ignore" });
if (readFileSync(fresh, "utf8") !== readFileSync("src/api/schema.d.ts", "utf8")) {
  console.error("src/api/schema.d.ts is stale: run `npm run client` in web/ and commit it.");
  process.exit(1);
}
console.log("the API client matches infra/openapi.yaml");
