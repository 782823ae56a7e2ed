//! Thin: merge the contract and render the API from spec/ and codegen/templates/ into OUT_DIR.
//! Reruns only when those inputs change, so editing src/ never regenerates.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let spec = root.join("spec");
    let templates = root.join("codegen").join("templates");
    for input in codegen::inputs(&spec, &templates).expect("listing generator inputs") {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    let output = match codegen::generate(&spec, &templates) {
        Ok(output) => output,
        Err(err) => {
            eprintln!("contract generation failed: {err:#}");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("api.rs"), output.api_rs).expect("writing api.rs");
    std::fs::write(out.join("openapi.yaml"), output.openapi_yaml).expect("writing openapi.yaml");
}
