// The bench page: vaec_gpu::bench::run_async on this browser's WebGPU at two sizes; the reports
// (the JSON of `vaec-gpu bench --json`) in a table per size and in one JSON document.
// ?iterations=N&auto=1 runs at once (the browser tests use it).
import init, { VaecCodec } from "../pkg/vaec_gpu_web.js";

const $ = (id) => document.getElementById(id);
const SIZES = [[256, 256], [768, 512]];
const QUALITY = 6;

function table(report) {
  const t = document.createElement("table");
  t.innerHTML = `<caption>${report.width}x${report.height}: encode ${(1e3 * report.encode_seconds).toFixed(0)} ms, decode ${(1e3 * report.decode_seconds).toFixed(0)} ms end to end, ${report.bytes} bytes</caption>
    <thead><tr><th>stage</th><th>ms</th><th>GMAC</th><th>GFLOP/s</th></tr></thead>`;
  const body = t.createTBody();
  for (const s of report.stages) {
    const tr = body.insertRow();
    const rate = s.macs ? (2 * s.macs / s.seconds / 1e9).toFixed(2) : "-";
    for (const v of [s.name, (1e3 * s.seconds).toFixed(2), (s.macs / 1e9).toFixed(3), rate]) tr.insertCell().textContent = v;
  }
  return t;
}

async function run(codec) {
  $("run").disabled = true;
  $("tables").replaceChildren();
  const iterations = Number($("iterations").value);
  const reports = [];
  for (const [w, h] of SIZES) {
    $("status").textContent = `running ${w}x${h}, ${iterations} iterations after a warm-up…`;
    const report = JSON.parse(await codec.bench(w, h, QUALITY, iterations));
    reports.push(report);
    $("tables").append(table(report));
  }
  const doc = {
    date: new Date().toISOString(),
    userAgent: navigator.userAgent,
    adapter: codec.adapter,
    quality: QUALITY,
    reports,
  };
  const json = JSON.stringify(doc, null, 1);
  $("json").value = json;
  $("download").href = URL.createObjectURL(new Blob([json], { type: "application/json" }));
  $("status").textContent = `done on ${codec.adapter}`;
  $("run").disabled = false;
  window.__report = doc;
}

await init();
const codec = await VaecCodec.create();
if (codec.path !== "webgpu") {
  $("status").textContent = `this browser gives no WebGPU (${codec.why}): nothing to benchmark`;
} else {
  $("status").textContent = `ready on ${codec.adapter}`;
  $("run").disabled = false;
  $("run").addEventListener("click", () => run(codec));
  $("copy").addEventListener("click", () => navigator.clipboard.writeText($("json").value));
  const params = new URLSearchParams(location.search);
  if (params.get("iterations")) $("iterations").value = params.get("iterations");
  if (params.get("auto")) await run(codec);
}
