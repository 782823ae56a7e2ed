//! Renders the template context with minijinja, then parses and formats the result with
//! syn + prettyplease so that the emitted Rust is stable and reviewable.

use crate::context::Context;
use anyhow::{anyhow, Context as _, Result};
use std::path::Path;

pub fn render(context: &Context, templates_dir: &Path) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_loader(minijinja::path_loader(templates_dir));
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("lit", |s: String| crate::context::lit(&s));
    // An object key as its JSON (quoted, escaped) and `:`, as a literal: what `JsonFields::field`
    // writes before a value.
    env.add_filter("json_key", |s: String| crate::context::lit(&format!("{}:", serde_json::Value::String(s))));
    // Doc text as a literal whose lines start with a space, so it reads as `/// text`.
    env.add_filter("doc", |s: String| {
        crate::context::lit(&s.lines().map(|l| format!(" {l}")).collect::<Vec<_>>().join("\n"))
    });
    let template = env.get_template("api.rs.jinja").context("loading api.rs.jinja")?;
    let text = template.render(context).map_err(|e| anyhow!("rendering api.rs.jinja: {e:#}"))?;
    let file = syn::parse_file(&text).map_err(|e| {
        let line = e.span().start().line;
        let excerpt: Vec<&str> = text.lines().skip(line.saturating_sub(4)).take(7).collect();
        anyhow!("rendered code does not parse at line {line}: {e}\n{}", excerpt.join("\n"))
    })?;
    Ok(prettyplease::unparse(&file))
}
