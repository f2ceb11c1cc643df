// npm test: the browser tests in headless Chromium with WebGPU (SwiftShader where there is no
// GPU), driven through chromedriver's WebDriver protocol (no npm packages needed):
//   webgpu mode: natively encoded files decode within one level of the native decode, the
//                browser's encode is byte-identical to the native one, hostile files throw;
//   cpu mode:    with navigator.gpu taken away, the CPU decoder decodes the same files, says so,
//                refuses to encode, and hostile files throw;
//   pages:       the demo page encodes a picture at quality 6 and shows the PSNR the command
//                line reports (a screenshot in test/artifacts/); the bench page reports every stage.
// Environment: VAEC_CLI (the native program; default ../target/debug/vaec-gpu), KODAK (a folder
// with kodim05.png and kodim23.png, used when present; default ../../shared/data/kodak),
// CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default chromedriver), MODES (default
// webgpu,cpu; the pages run always).
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../scripts/serve.mjs";

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = resolve(process.env.VAEC_CLI ?? join(web, "../target/debug/vaec-gpu"));
const kodak = resolve(process.env.KODAK ?? join(web, "../../shared/data/kodak"));
if (!existsSync(join(web, "pkg/vaec_gpu_web.js"))) throw new Error("no pkg/: run npm run build first");
if (!existsSync(cli)) throw new Error(`${cli}: build the native program first (cargo build)`);

execFileSync("python3", [join(web, "test/fixtures.py"), cli, join(web, "test/fixtures"), kodak], { stdio: "inherit" });

const server = await serve(0);
const port = server.address().port;
const driverPort = 9515 + Math.floor(Math.random() * 400);
const driver = spawn(process.env.CHROMEDRIVER ?? "chromedriver", [`--port=${driverPort}`], { stdio: "ignore" });
const wd = async (method, path, body) => {
  const res = await fetch(`http://127.0.0.1:${driverPort}${path}`, {
    method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`webdriver ${path}: ${JSON.stringify(json.value)}`);
  return json.value;
};
for (let i = 0; ; i++) {
  try { if ((await wd("GET", "/status")).ready) break; } catch (e) { if (i > 100) throw e; }
  await new Promise((ok) => setTimeout(ok, 100));
}

const artifacts = join(web, "test/artifacts");
mkdirSync(artifacts, { recursive: true });
let failed = 0;
const ran = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failed++;
};

// a fresh browser per page, closed whatever happens
async function withPage(url, work) {
  const session = await wd("POST", "/session", {
    capabilities: { alwaysMatch: { browserName: "chrome", "goog:chromeOptions": {
      binary: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--headless=new", "--enable-unsafe-webgpu", "--no-sandbox", "--window-size=1200,1000"],
    } } },
  });
  const s = `/session/${session.sessionId}`;
  try {
    await wd("POST", `${s}/timeouts`, { script: 30_000, pageLoad: 60_000 });
    await wd("POST", `${s}/url`, { url: `http://127.0.0.1:${port}${url}` });
    return await work(s);
  } finally {
    await wd("DELETE", s).catch(() => {});
  }
}

// polls `script` (which returns { done, log }) once a second, printing new log lines
async function poll(s, label, script) {
  const deadline = Date.now() + 20 * 60_000;
  let shown = 0;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${label}: no result after 20 minutes`);
    await new Promise((ok) => setTimeout(ok, 1000));
    const state = await wd("POST", `${s}/execute/sync`, { script, args: [] });
    const lines = (state.log ?? "").split("\n");
    for (const line of lines.slice(shown)) if (line) console.log(`   ${label}: ${line}`);
    shown = lines.length;
    if (state.done) return state.done;
  }
}

try {
  const modes = (process.env.MODES ?? "webgpu,cpu").split(",").filter((m) => ["webgpu", "cpu"].includes(m));
  for (const mode of modes) {
    // one long call would outlive fetch's header timeout: poll
    const script = "window.__results.then((r) => { window.__out = r; }); " +
      "return { done: window.__out ?? null, log: document.getElementById('log').textContent };";
    const out = await withPage(`/test/?mode=${mode}`, (s) => poll(s, `${mode} page`, script));
    writeFileSync(join(artifacts, `results-${mode}.json`), JSON.stringify(out, null, 1));
    ran.push(mode);
    if (out.fatal) {
      check(false, `${mode}: ${out.fatal}`);
      continue;
    }
    console.log(`== ${mode}: ${out.adapter}`);
    for (const r of out.results) check(r.ok, `${r.name}: ${r.detail}`);
  }

  // 5: the demo page encodes a picture at quality 6 and shows the PSNR the command line reports
  const manifest = JSON.parse(readFileSync(join(web, "test/fixtures/manifest.json")));
  const picture = manifest.pictures.find((p) => p.name === "kodim23") ?? manifest.pictures[0];
  const png = join(web, `test/fixtures/${picture.name}.png`);
  const dir = mkdtempSync(join(tmpdir(), "vaec-demo-"));
  const line = execFileSync(cli, ["encode", png, "-o", join(dir, "x.vaec"), "-q", "6", "--psnr"], { encoding: "utf8" });
  rmSync(dir, { recursive: true });
  const cliPsnr = Number(line.match(/PSNR ([0-9.]+) dB/)[1]);
  const demo = await withPage(`/demo/?picture=/test/fixtures/${picture.name}.png&quality=6`, async (s) => {
    const script = "return { done: document.body.dataset.done ? document.getElementById('psnr').textContent : null, " +
      "log: document.getElementById('status').textContent.startsWith('encod') ? '' : document.getElementById('status').textContent };";
    const shown = await poll(s, "demo page", script);
    writeFileSync(join(artifacts, "demo.png"), Buffer.from(await wd("GET", `${s}/screenshot`), "base64"));
    const table = await wd("POST", `${s}/execute/sync`, { script: "return document.getElementById('results').innerText;", args: [] });
    return { shown, table };
  });
  console.log(`   demo page: ${demo.table.replaceAll("\n", " | ")}`);
  check(Math.abs(Number(demo.shown) - cliPsnr) <= 0.01,
    `the demo page shows PSNR ${demo.shown} dB for ${picture.name} at quality 6; the command line reports ${cliPsnr.toFixed(2)} dB (screenshot: test/artifacts/demo.png)`);

  // 5: the bench page's report has every stage the native bench has, under the same names
  const native = JSON.parse(execFileSync(cli, ["bench", "--size", "256x256", "--iterations", "1", "--json"], { encoding: "utf8" }));
  const bench = await withPage("/bench/?iterations=1&auto=1", (s) =>
    poll(s, "bench page", "return { done: window.__report ?? null, log: '' };"));
  writeFileSync(join(artifacts, "bench.json"), JSON.stringify(bench, null, 1));
  const names = (r) => r.stages.map((st) => st.name).sort().join("\n");
  const small = bench.reports.find((r) => r.width === 256);
  check(bench.reports.length === 2 && small && names(small) === names(native),
    `the bench page's report (test/artifacts/bench.json) has the native bench's ${native.stages.length} stages by name; ` +
    `256x256 encode ${(1e3 * small?.encode_seconds).toFixed(0)} ms, decode ${(1e3 * small?.decode_seconds).toFixed(0)} ms on ${bench.adapter}; ` +
    `timing: ${small?.timing}`);
} finally {
  driver.kill();
  server.close();
}

// the same Kodak pictures natively on this machine's adapter, beside the browser's times of this run
const browser = {};
if (existsSync(join(artifacts, "results-webgpu.json")) && ran.includes("webgpu")) {
  for (const r of JSON.parse(readFileSync(join(artifacts, "results-webgpu.json"))).results ?? []) {
    const m = r.name.match(/^(encode|decode) (kodim\d+) /);
    if (m && r.ms) browser[`${m[1]} ${m[2]}`] = r.ms / 1000;
  }
}
if (Object.keys(browser).length) {
  const dir = mkdtempSync(join(tmpdir(), "vaec-native-"));
  for (const name of ["kodim05", "kodim23"]) copyFileSync(join(web, `test/fixtures/${name}.png`), join(dir, `${name}.png`));
  const eval_ = JSON.parse(execFileSync(cli, ["eval", dir, "--quality", "6", "--json"], { encoding: "utf8" }));
  const row = eval_.rows[0];
  console.log(`== time of a 768x512 Kodak picture at quality 6 (mean of kodim05 and kodim23)`);
  for (const what of ["encode", "decode"]) {
    const times = ["kodim05", "kodim23"].map((n) => browser[`${what} ${n}`]).filter(Boolean);
    const inBrowser = times.reduce((a, b) => a + b, 0) / times.length;
    const native = row[`${what}_s`];
    console.log(`${what}: browser (WebGPU) ${inBrowser.toFixed(2)} s, native (${eval_.adapter}) ${native.toFixed(2)} s: ${(inBrowser / native).toFixed(2)}x`);
  }
  rmSync(dir, { recursive: true });
}
console.log(failed ? `browser tests: ${failed} failed` : "browser tests: all passed");
process.exit(failed ? 1 : 0);
