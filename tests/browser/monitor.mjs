// Browser test of `trident monitor` (run by tests/integration/monitor_browser.rs, which
// .ci/run enables): headless Chromium (Debian's `chromium`) driven by playwright-core.
//
// A project whose `slow` tool waits for a file is run; the run's page is opened while
// `slow` is running; the test sees the node drawn as running, releases the tool, and sees
// the same node turn completed without any reload (the page follows the run's SSE stream).
// Then the runs list shows the run, and a screenshot of the run page is saved.
//
// Environment: TRIDENT_BIN (the trident binary), PLAYWRIGHT_CORE (a folder whose
// node_modules holds playwright-core), CHROMIUM (the browser, default /usr/bin/chromium),
// SCREENSHOT (where to save the PNG). Exits non-zero with a message on any failure, and
// within 120 s whatever happens.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const children = [];
let browser = null;
let project = null;
let finishing = false;
async function cleanup() {
  finishing = true;
  if (browser) await browser.close().catch(() => {});
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  if (project) rmSync(project, { recursive: true, force: true });
}
// A failure from an event handler or the overall timer: stop everything now.
function abort(message) {
  if (finishing) return;
  console.error("monitor browser test FAILED: " + message);
  cleanup().finally(() => process.exit(1));
}
// A failure of the main sequence: thrown, so nothing after it runs.
function fail(message) {
  throw new Error(message);
}
const need = (name) => process.env[name] || fail(`${name} is not set`);
setTimeout(() => abort("did not finish within 120 s"), 120_000).unref();

try {
const trident = need("TRIDENT_BIN");
const playwrightDir = need("PLAYWRIGHT_CORE");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const screenshot = need("SCREENSHOT");
const { chromium } = await import(pathToFileURL(join(playwrightDir, "node_modules/playwright-core/index.mjs")).href);

// The project: tests/integration/fixtures/gated (input -> fetch -> (slow, quick) ->
// output; `slow` waits for the file `go`), copied to a temp folder.
project = mkdtempSync(join(tmpdir(), "trident-monitor-browser-"));
cpSync(join(dirname(fileURLToPath(import.meta.url)), "../integration/fixtures/gated"), project, { recursive: true });

function start(args, options) {
  const child = spawn(trident, args, Object.assign({ cwd: project, stdio: ["ignore", "pipe", "pipe"] }, options || {}));
  children.push(child);
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  child.errText = () => err;
  return child;
}

// The monitor, on any free port; its first stdout line is the URL.
const monitor = start(["monitor", project, "--port", "0", "--token", "browser-test-token"]);
const base = await new Promise((resolve) => {
  let out = "";
  monitor.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/http:\/\/[^\s]+/);
    if (m) resolve(m[0]);
  });
  monitor.on("exit", (code) => abort(`the monitor exited (${code}): ${monitor.errText()}`));
});
const runId = "browser-run-1";
const run = start(["project", "run", project, "-i", '{"n": 3}', "--run-id", runId]);
let runExit = null;
run.on("exit", (code) => { runExit = code; });

browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const problems = [];
page.on("pageerror", (e) => problems.push("page error: " + e.message));
page.on("console", (m) => { if (m.type() === "error") problems.push("console error: " + m.text()); });
let navigations = 0;
page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations += 1; });

const token = "?token=browser-test-token";
// The run's folder must exist before its page does (unknown runs are 404).
for (let i = 0; i < 200 && !existsSync(join(project, ".trident/runs", runId)); i++) await new Promise((r) => setTimeout(r, 50));
await page.goto(base + "runs/" + runId + token);
const slow = '[data-node="slow"]';
await page.waitForSelector(`${slow}[data-status="running"]`, { timeout: 30_000 }).catch(() => fail("the slow node was never shown running"));
console.log("slow node shown running");
const before = navigations;
writeFileSync(join(project, "go"), "");
await page.waitForSelector(`${slow}[data-status="completed"]`, { timeout: 30_000 }).catch(() => fail("the slow node never turned completed"));
if (navigations !== before) fail("the page was reloaded");
console.log("slow node turned completed without reload");
await page.waitForSelector('.badge.s-completed', { timeout: 10_000 });
await page.click(slow);
await page.waitForSelector("text=Outputs", { timeout: 5_000 }).catch(() => fail("the node detail shows no outputs"));
mkdirSync(dirname(screenshot), { recursive: true });
await page.screenshot({ path: screenshot, fullPage: true });
console.log("screenshot saved to " + screenshot);

// The runs list shows the run, completed.
await page.click("#home");
await page.waitForSelector(`tr[data-run="${runId}"] .badge.s-completed`, { timeout: 10_000 }).catch(() => fail("the runs list does not show the run completed"));
console.log("runs list shows the run");
for (let i = 0; i < 100 && runExit === null; i++) await new Promise((r) => setTimeout(r, 50));
if (runExit !== 0) fail(`the run exited with ${runExit}`);
if (problems.length) fail(problems.join("\n"));
console.log("monitor browser test passed");
await cleanup();
process.exit(0);
} catch (e) {
  console.error("monitor browser test FAILED: " + e.message);
  await cleanup();
  process.exit(1);
}
