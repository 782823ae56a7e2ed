//! Generates the client from the contract with progenitor's `Generator` (the build.rs way from
//! progenitor's README), writing OUT_DIR/bookings_client.rs, which src/lib.rs includes.
//!
//! Input: $BOOKINGS_OPENAPI, the /openapi.json the live server served (scripts/sdk-check.sh
//! sets it); default ../.work/openapi.json.
//!
//! progenitor reports some contract problems by panicking (an `assert!`) on the first
//! operation it cannot handle, without naming it. When generation fails, this script retries
//! every operation on its own (the document with just that path and method) to name each one
//! progenitor rejects and why, then fails the build with that list.
use serde_json::Value;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn main() {
    println!("cargo:rerun-if-env-changed=BOOKINGS_OPENAPI");
    let src = std::env::var("BOOKINGS_OPENAPI").unwrap_or_else(|_| "../.work/openapi.json".into());
    println!("cargo:rerun-if-changed={src}");
    let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("reading {src}: {e} (run scripts/sdk-check.sh)"));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{src} is not JSON: {e}"));

    let code = match generate(&doc) {
        Ok(code) => code,
        Err(whole) => {
            // cargo shows a failed build script's stderr.
            eprintln!("progenitor could not generate a client from {src}: {whole}");
            eprintln!("{}", diagnose(&doc));
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("bookings_client.rs");
    std::fs::write(&out, code).unwrap();
}

/// progenitor's generator on `doc`: the formatted code, or what went wrong (an error it
/// returned, a panic it raised, or tokens that do not parse).
fn generate(doc: &Value) -> Result<String, String> {
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(doc.clone()).map_err(|e| format!("openapiv3 does not read the document: {e}"))?;
    let caught = Arc::new(Mutex::new(String::new()));
    let hook = panic::take_hook();
    {
        let caught = caught.clone();
        panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| format!(" (at {}:{})", short(l.file()), l.line())).unwrap_or_default();
            *caught.lock().unwrap() = format!("panicked: {}{at}", payload(info.payload()));
        }));
    }
    let result = panic::catch_unwind(AssertUnwindSafe(|| progenitor::Generator::default().generate_tokens(&spec)));
    panic::set_hook(hook);
    let tokens = match result {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) => return Err(format!("error: {e}")),
        Err(_) => return Err(caught.lock().unwrap().clone()),
    };
    let ast = syn::parse2(tokens).map_err(|e| format!("emitted tokens that do not parse: {e}"))?;
    Ok(prettyplease::unparse(&ast))
}

fn payload(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

fn short(file: &str) -> &str {
    file.find("progenitor-impl").or_else(|| file.find("typify")).map(|i| &file[i..]).unwrap_or(file)
}

/// Each operation progenitor rejects on its own, and why; then whether the rest generates.
fn diagnose(doc: &Value) -> String {
    let mut lines = Vec::new();
    let mut rejected: Vec<(String, String)> = Vec::new();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (path, item) in &paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let mut one = doc.clone();
            let mut only = item.clone();
            for m in METHODS {
                if m != method {
                    only.as_object_mut().unwrap().remove(m);
                }
            }
            one["paths"] = Value::Object([(path.clone(), only)].into_iter().collect());
            if let Err(why) = generate(&one) {
                let id = op["operationId"].as_str().unwrap_or("(no operationId)");
                let mut line = format!("  {id} ({} {path}): {why}", method.to_uppercase());
                if why.contains("response_types.len() <= 1") {
                    line.push_str(&format!("\n      {}", response_kinds(doc, op)));
                }
                lines.push(line);
                rejected.push((path.clone(), method.to_string()));
            }
        }
    }
    let mut rest = doc.clone();
    for (path, method) in &rejected {
        rest["paths"][path].as_object_mut().unwrap().remove(method);
    }
    let tail = match generate(&rest) {
        Ok(_) => format!("the other {} operations generate", count_ops(&rest)),
        Err(e) => format!("the other operations still fail together (a schema-level problem?): {e}"),
    };
    format!(
        "progenitor rejects {} operation(s) on their own:\n{}\n{tail}",
        rejected.len(),
        if lines.is_empty() { "  (none)".to_string() } else { lines.join("\n") }
    )
}

fn count_ops(doc: &Value) -> usize {
    doc["paths"].as_object().map(|p| p.values().map(|i| METHODS.iter().filter(|m| i.get(**m).is_some()).count()).sum()).unwrap_or(0)
}

/// progenitor needs one body type for all 2xx responses and one for all 4xx/5xx responses of
/// an operation; lists the types each status has.
fn response_kinds(doc: &Value, op: &Value) -> String {
    let mut success: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut error: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (status, resp) in op["responses"].as_object().cloned().unwrap_or_default() {
        let mut resp = resp;
        while let Some(r) = resp.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or_default().to_string();
            resp = doc["components"]["responses"][name.as_str()].clone();
        }
        let kind = match resp.get("content") {
            None => "no body".to_string(),
            Some(c) => match c.pointer("/application~1json/schema") {
                Some(s) => match s.get("$ref").and_then(Value::as_str) {
                    Some(r) => r.rsplit('/').next().unwrap_or_default().to_string(),
                    None => "an inline schema".to_string(),
                },
                None => "a body without an application/json schema".to_string(),
            },
        };
        let target = if status.starts_with('2') { &mut success } else { &mut error };
        target.entry(kind).or_default().push(status);
    }
    let show = |m: &BTreeMap<String, Vec<String>>| {
        m.iter().map(|(k, v)| format!("{k} for {}", v.join(", "))).collect::<Vec<_>>().join("; ")
    };
    format!("success types: {}; error types: {}", show(&success), show(&error))
}
