//! Links the Worker's Wasm without its name section (function names, 140 KB): worker-build
//! always runs wasm-opt with `--debuginfo`, which keeps whatever names the module has. Only for
//! wasm32; native builds (unit tests) keep their symbols.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--strip-all");
        // wasm-bindgen reads the enabled Wasm features from this section.
        println!("cargo:rustc-link-arg-cdylib=--keep-section=target_features");
    }
    println!("cargo:rerun-if-changed=src/build.rs");
}
