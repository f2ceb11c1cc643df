// npm run build: the wasm (release) and its JavaScript bindings and TypeScript types in pkg/.
// Needs the wasm32-unknown-unknown target (rustup target add wasm32-unknown-unknown) and
// wasm-bindgen-cli of the version web/Cargo.toml pins (cargo install wasm-bindgen-cli --version 0.2.130).
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const run = (cmd, args) => execFileSync(cmd, args, { cwd: web, stdio: "inherit" });
run("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown"]);
run("wasm-bindgen", [
  join(web, "target/wasm32-unknown-unknown/release/vaec_gpu_web.wasm"),
  "--target", "web", "--out-dir", join(web, "pkg"),
]);
