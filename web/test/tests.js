// The browser tests, run by test/run.mjs in headless Chromium (see README "Web"). Each returns
// { name, ok, detail }; the runner fails on any ok === false.
import init, { VaecCodec, info, psnr } from "../pkg/vaec_gpu_web.js";

const fixture = async (file) =>
  new Uint8Array(await (await fetch(`fixtures/${file}`)).arrayBuffer());

function largestDifference(a, b) {
  let worst = 0;
  let first = -1;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 1) { count++; if (first < 0) first = i; }
    worst = Math.max(worst, d);
  }
  globalThis.__diff = { first, count, got: Array.from(a.slice(first, first + 8)), want: Array.from(b.slice(first, first + 8)) };
  return worst;
}

const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

// 1 and 3: natively encoded files decode to within one level of the native decode
async function decodesAsNative(codec, pictures, path) {
  const results = [];
  for (const p of pictures) {
    const t0 = performance.now();
    const image = await codec.decode(await fixture(p.vaec));
    const ms = performance.now() - t0;
    const native = await fixture(p.decoded);
    const sizeOk = image.width === p.width && image.height === p.height;
    const worst = sizeOk ? largestDifference(image.data, native) : Infinity;
    results.push({
      name: `decode ${p.name} (${p.width}x${p.height}) on ${path}`,
      ok: codec.path === path && sizeOk && worst <= 1,
      detail: `path ${codec.path}, largest difference ${worst} levels, ${ms.toFixed(0)} ms` + (worst > 1 ? ` ${JSON.stringify(globalThis.__diff)}` : ""),
      ms,
    });
  }
  return results;
}

// 2: the browser's encode is byte-identical to the native encode of the same pixels
async function encodesAsNative(codec, pictures) {
  const results = [];
  for (const p of pictures) {
    const rgba = await fixture(p.rgba);
    const image = new ImageData(new Uint8ClampedArray(rgba.buffer), p.width, p.height);
    const t0 = performance.now();
    const file = await codec.encode(image, { quality: p.quality });
    const ms = performance.now() - t0;
    const native = await fixture(p.vaec);
    results.push({
      name: `encode ${p.name} (${p.width}x${p.height}) at quality ${p.quality} on ${codec.path}`,
      ok: codec.path === "webgpu" && same(file, native),
      detail: `${file.length} bytes in the browser, ${native.length} natively, ${same(file, native) ? "identical" : "DIFFERENT"}, ${ms.toFixed(0)} ms`,
      ms,
    });
  }
  return results;
}

// decodeToTexture: the texture on the codec's device holds the pixels decode() gives
async function decodesToTexture(codec, pictures, device = codec.device, whose = "codec.device") {
  const results = [];
  for (const p of pictures.slice(0, 2)) {
    const bytes = await fixture(p.vaec);
    const texture = await codec.decodeToTexture(bytes);
    const pitch = Math.ceil((p.width * 4) / 256) * 256;
    const buffer = device.createBuffer({ size: pitch * p.height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const encoder = device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow: pitch }, [p.width, p.height]);
    device.queue.submit([encoder.finish()]);
    await buffer.mapAsync(GPUMapMode.READ);
    const rows = new Uint8Array(buffer.getMappedRange());
    const pixels = new Uint8Array(p.width * p.height * 4);
    for (let y = 0; y < p.height; y++) pixels.set(rows.subarray(y * pitch, y * pitch + p.width * 4), y * p.width * 4);
    buffer.unmap();
    const decoded = (await codec.decode(bytes)).data;
    results.push({
      name: `decodeToTexture ${p.name} (${p.width}x${p.height}): a ${texture.format} GPUTexture on ${whose}`,
      ok: texture.format === "rgba8unorm" && texture.width === p.width && same(pixels, decoded),
      detail: `${texture.width}x${texture.height}, ${same(pixels, decoded) ? "the same pixels as decode()" : "pixels DIFFER from decode()"}`,
    });
  }
  return results;
}

// an application's own GPUDevice (default limits): the codec runs on it, its textures are usable
// there (a texture of another device fails the copy), and the adoption shim is gone afterwards
async function runsOnApplicationDevice(pictures) {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter.requestDevice();
  const codec = await VaecCodec.create({ device });
  const shimGone = Object.getOwnPropertyDescriptor(navigator.gpu, "requestAdapter") === undefined;
  const results = [{
    name: "VaecCodec.create({ device }) runs on the application's GPUDevice",
    ok: codec.path === "webgpu" && codec.device === device && shimGone,
    detail: `path ${codec.path} ${codec.why}; codec.device is the application's: ${codec.device === device}; navigator.gpu restored: ${shimGone}`,
  }];
  device.pushErrorScope("validation");
  results.push(...(await decodesToTexture(codec, pictures, device, "the application's device")));
  const invalid = await device.popErrorScope();
  results.push({ name: "no validation error on the application's device", ok: invalid === null, detail: invalid ? invalid.message : "none" });
  let refused = "";
  try {
    await VaecCodec.create({ device: {} });
  } catch (e) {
    refused = `${e.name}: ${e.message}`;
  }
  results.push({ name: "create({ device }) with something else is refused", ok: refused.startsWith("InvalidArgumentError"), detail: refused });
  return results;
}

// encoder effort: create({ effort: 1 }) searches the latents; its file decodes; 7 is refused
async function encodesWithEffort(pictures) {
  const p = pictures[0];
  const bytes = await fixture(p.vaec);
  const plain = await VaecCodec.create();
  const image = await plain.decode(bytes);
  const searched = await VaecCodec.create({ effort: 1 });
  const file = await searched.encode(image, { quality: 6 });
  const back = await plain.decode(file);
  let refused = "";
  try {
    await VaecCodec.create({ effort: 7 });
  } catch (e) {
    refused = `${e.name}: ${e.message}`;
  }
  return [
    {
      name: `create({ effort: 1 }) encodes ${p.name} to a file that decodes`,
      ok: back.width === p.width && back.height === p.height,
      detail: `${file.length} bytes, PSNR against its source ${psnr(image, back).toFixed(2)} dB`,
    },
    { name: "create({ effort: 7 }) is refused", ok: refused.startsWith("InvalidArgumentError"), detail: refused },
  ];
}

// 4: hostile files are exceptions of a named kind; the page keeps working; memory stays bounded
async function refusesHostile(codec, hostile, memory) {
  const before = memory();
  const kinds = {};
  const accepted = [];
  for (const h of hostile) {
    const bytes = await fixture(h.file);
    for (const call of [() => info(bytes), () => codec.decode(bytes)]) {
      try {
        await call();
        accepted.push(h.what);
      } catch (e) {
        kinds[e.name] = (kinds[e.name] ?? 0) + 1;
      }
    }
  }
  const after = memory();
  const named = Object.keys(kinds).every((k) => k.endsWith("Error") && k !== "Error");
  return [{
    name: `${hostile.length} hostile files refused by info and decode on ${codec.path}`,
    ok: accepted.length === 0 && named && after < 1024 * 2 ** 20,
    detail: `errors ${JSON.stringify(kinds)}; accepted: ${accepted.length ? accepted.join("; ") : "none"}; wasm memory ${(before / 2 ** 20).toFixed(0)} -> ${(after / 2 ** 20).toFixed(0)} MiB`,
  }];
}

export async function runAll(mode, log) {
  const wasm = await init();
  const memory = () => wasm.memory.buffer.byteLength;
  const manifest = await (await fetch("fixtures/manifest.json")).json();
  const results = [];
  let adapter = "";
  const report = (rs) => {
    for (const r of rs) log(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
    results.push(...rs);
  };
  if (mode === "webgpu") {
    const codec = await VaecCodec.create();
    adapter = codec.adapter;
    log(`codec on ${codec.path}: ${adapter} ${codec.why}`);
    // the WebGPU tests fail, not fall back, where the codec did not get WebGPU
    report([{ name: "the codec runs on WebGPU", ok: codec.path === "webgpu", detail: codec.why || codec.adapter }]);
    report(await decodesAsNative(codec, manifest.pictures, "webgpu"));
    report(await encodesAsNative(codec, manifest.pictures));
    report(await decodesToTexture(codec, manifest.pictures));
    report(await runsOnApplicationDevice(manifest.pictures));
    report(await encodesWithEffort(manifest.pictures));
    report(await refusesHostile(codec, manifest.hostile, memory));
  } else {
    // a browser without WebGPU: navigator.gpu taken away before the codec looks for it
    Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
    const codec = await VaecCodec.create();
    adapter = codec.adapter;
    log(`codec on ${codec.path}: ${codec.why}`);
    report([{ name: "without WebGPU the codec says it runs on the CPU", ok: codec.path === "cpu" && codec.why.length > 0, detail: codec.why }]);
    report(await decodesAsNative(codec, manifest.pictures, "cpu"));
    let refused = "";
    try {
      await codec.encode(new ImageData(16, 16), { quality: 3 });
    } catch (e) {
      refused = `${e.name}: ${e.message}`;
    }
    report([{ name: "without WebGPU encoding is refused with a GpuError", ok: refused.startsWith("GpuError"), detail: refused }]);
    report(await refusesHostile(codec, manifest.hostile, memory));
  }
  return { adapter, results };
}
