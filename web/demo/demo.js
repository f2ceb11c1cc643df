// The demo page: encode a picture at a quality or a target size, see the decoded picture beside
// the original (a split view), its size, bpp and PSNR, and the browser's own WebP and AVIF at the
// nearest size; download the .vaec, or drop one to view it. ?picture=URL&quality=Q encodes a
// picture at once (the browser tests use it).
import init, { VaecCodec, info, psnr } from "../pkg/vaec_gpu_web.js";

const $ = (id) => document.getElementById(id);
const status = (text) => { $("status").textContent = text; };
let codec;
let original; // ImageData
let fileName = "picture";

async function imageDataOf(blob) {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext("2d", { colorSpace: "srgb" });
  g.drawImage(bitmap, 0, 0);
  return g.getImageData(0, 0, bitmap.width, bitmap.height);
}

function show(decoded, source) {
  const view = $("view");
  view.hidden = false;
  for (const [id, image] of [["original", source ?? decoded], ["decoded", decoded]]) {
    const canvas = $(id);
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.getContext("2d").putImageData(image, 0, 0);
  }
  split(0.5);
}

function split(fraction) {
  const width = $("original").getBoundingClientRect().width;
  $("decoded").style.clipPath = `inset(0 ${(100 * (1 - fraction)).toFixed(2)}% 0 0)`;
  $("divider").style.left = `${fraction * width}px`;
}

$("view").addEventListener("pointermove", (e) => {
  if (e.buttons !== 1 && e.pointerType === "mouse") return;
  const r = $("view").getBoundingClientRect();
  split(Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)));
});

// the browser's own encoder at the quality whose file is nearest `bytes` (bisection on quality)
async function nearest(image, type, bytes) {
  const canvas = new OffscreenCanvas(image.width, image.height);
  canvas.getContext("2d").putImageData(image, 0, 0);
  let best = null;
  let [lo, hi] = [0, 1];
  for (let i = 0; i < 9; i++) {
    const q = (lo + hi) / 2;
    const blob = await canvas.convertToBlob({ type, quality: q });
    if (blob.type !== type) return null; // this browser cannot encode it
    if (!best || Math.abs(blob.size - bytes) < Math.abs(best.size - bytes)) best = blob;
    if (blob.size > bytes) hi = q; else lo = q;
  }
  const decoded = await imageDataOf(best);
  return { bytes: best.size, psnr: psnr(image, decoded) };
}

function row(name, bytes, pixels, db) {
  const tr = document.createElement("tr");
  for (const v of [name, bytes ?? "-", bytes ? (8 * bytes / pixels).toFixed(4) : "-", db ? db.toFixed(2) : "not supported"]) {
    const td = document.createElement("td");
    td.textContent = v;
    tr.append(td);
  }
  $("results").tBodies[0].append(tr);
}

async function encode() {
  $("encode").disabled = true;
  $("results").hidden = false;
  $("results").tBodies[0].replaceChildren();
  const target = Number($("target").value);
  const options = target > 0 ? { targetSize: target } : { quality: Number($("quality").value) };
  try {
    status(`encoding ${original.width}x${original.height} on ${codec.path}…`);
    const t0 = performance.now();
    const file = await codec.encode(original, options);
    const encodeMs = performance.now() - t0;
    status("decoding…");
    const t1 = performance.now();
    const decoded = await codec.decode(file);
    const decodeMs = performance.now() - t1;
    show(decoded, original);
    const pixels = original.width * original.height;
    const db = psnr(original, decoded);
    row(`vaec (quality ${info(file).quality})`, file.length, pixels, db);
    $("psnr").textContent = db.toFixed(2);
    const link = $("download");
    link.href = URL.createObjectURL(new Blob([file]));
    link.download = `${fileName}.vaec`;
    link.hidden = false;
    status(`encoded in ${encodeMs.toFixed(0)} ms, decoded in ${decodeMs.toFixed(0)} ms on ${codec.adapter}; the browser's encoders at the nearest size…`);
    for (const [name, type] of [["WebP (this browser)", "image/webp"], ["AVIF (this browser)", "image/avif"]]) {
      const other = await nearest(original, type, file.length);
      row(name, other?.bytes, pixels, other?.psnr);
    }
    status(`encoded in ${encodeMs.toFixed(0)} ms, decoded in ${decodeMs.toFixed(0)} ms on ${codec.adapter}`);
    document.body.dataset.done = "1";
  } catch (e) {
    status(`${e.name}: ${e.message}`);
    document.body.dataset.done = "error";
  } finally {
    $("encode").disabled = false;
  }
}

async function open(blob, name) {
  fileName = name.replace(/\.[^.]*$/, "");
  const head = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
  if (String.fromCharCode(...head) === "VAEC") {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    status("decoding…");
    try {
      const decoded = await codec.decode(bytes);
      original = null;
      show(decoded);
      const i = info(bytes);
      status(`${name}: ${i.width}x${i.height}, quality ${i.quality}, ${bytes.length} bytes (${(8 * bytes.length / (i.width * i.height)).toFixed(4)} bpp), model ${i.model ?? i.modelId}`);
    } catch (e) {
      status(`${e.name}: ${e.message}`);
    }
    return;
  }
  original = await imageDataOf(blob);
  $("encode").disabled = codec.path !== "webgpu";
  await encode();
}

$("quality").addEventListener("input", () => { $("qualityValue").textContent = $("quality").value; });
$("encode").addEventListener("click", encode);
$("file").addEventListener("change", () => { const f = $("file").files[0]; if (f) open(f, f.name); });
for (const [event, over] of [["dragover", true], ["dragleave", false], ["drop", false]]) {
  $("drop").addEventListener(event, (e) => { e.preventDefault(); $("drop").classList.toggle("over", over); });
}
$("drop").addEventListener("drop", (e) => { const f = e.dataTransfer.files[0]; if (f) open(f, f.name); });

await init();
codec = await VaecCodec.create();
status(codec.path === "webgpu"
  ? `ready on ${codec.adapter}`
  : `no WebGPU here (${codec.why}): .vaec files decode on the CPU; encoding needs WebGPU`);
const psnrOut = document.createElement("output");
psnrOut.id = "psnr";
psnrOut.hidden = true;
document.body.append(psnrOut);
const params = new URLSearchParams(location.search);
if (params.get("quality")) {
  $("quality").value = params.get("quality");
  $("qualityValue").textContent = params.get("quality");
}
if (params.get("picture")) {
  const url = params.get("picture");
  await open(await (await fetch(url)).blob(), url.split("/").pop());
}
