// npm test: the browser tests in headless Chromium with WebGPU (SwiftShader where there is no
// GPU), driven through chromedriver's WebDriver protocol (no npm packages needed):
//   webgpu mode: natively encoded files decode within one level of the native decode, the
//                browser's encode is byte-identical to the native one, hostile files throw;
//   cpu mode:    with navigator.gpu taken away, the CPU decoder decodes the same files, says so,
//                refuses to encode, and hostile files throw.
// Environment: VAEC_CLI (the native program; default ../target/debug/vaec-gpu), KODAK (a folder
// with kodim05.png and kodim23.png, used when present; default ../../shared/data/kodak),
// CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default chromedriver), MODES (default
// webgpu,cpu).
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
try {
  for (const mode of (process.env.MODES ?? "webgpu,cpu").split(",")) {
    const session = await wd("POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "chrome", "goog:chromeOptions": {
        binary: process.env.CHROMIUM ?? "/usr/bin/chromium",
        args: ["--headless=new", "--enable-unsafe-webgpu", "--no-sandbox", "--window-size=1200,900"],
      } } },
    });
    const s = `/session/${session.sessionId}`;
    try {
      await wd("POST", `${s}/timeouts`, { script: 30_000, pageLoad: 60_000 });
      await wd("POST", `${s}/url`, { url: `http://127.0.0.1:${port}/test/?mode=${mode}` });
      // poll (one long call would outlive fetch's header timeout), printing the page's log as it grows
      const script = "window.__results.then((r) => { window.__out = r; }); " +
        "return { out: window.__out ?? null, log: document.getElementById('log').textContent };";
      let out = null;
      let shown = 0;
      const deadline = Date.now() + 20 * 60_000;
      while (!out) {
        if (Date.now() > deadline) throw new Error(`${mode}: no result after 20 minutes`);
        await new Promise((ok) => setTimeout(ok, 1000));
        const state = await wd("POST", `${s}/execute/sync`, { script, args: [] });
        const lines = state.log.split("\n");
        for (const line of lines.slice(shown)) console.log(`   ${mode} page: ${line}`);
        shown = lines.length;
        out = state.out;
      }
      writeFileSync(join(artifacts, `results-${mode}.json`), JSON.stringify(out, null, 1));
      if (out.fatal) {
        console.log(`${mode}: FATAL ${out.fatal}`);
        failed++;
        continue;
      }
      console.log(`== ${mode}: ${out.adapter}`);
      for (const r of out.results) {
        console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
        if (!r.ok) failed++;
      }
    } finally {
      await wd("DELETE", s).catch(() => {});
    }
  }
} finally {
  driver.kill();
  server.close();
}
// the same Kodak pictures natively on this machine's adapter, for the browser's times beside them
const browser = {};
for (const mode of ["webgpu"]) {
  const file = join(artifacts, `results-${mode}.json`);
  if (!existsSync(file)) continue;
  for (const r of JSON.parse(readFileSync(file)).results ?? []) {
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
