//! Turns the merged contract into the data model the templates render: models, and operations
//! grouped by tag (one handler trait and one `#[OpenApi]` struct per tag), in the manner of
//! openapi-generator. Everything here is ordered deterministically (components sorted by name,
//! operations in document order, inline models in the order they are met).

use crate::merge::{is_secured, operations, pointer, ErrorEnvelope};
use anyhow::{anyhow, bail, Context as _, Result};
use heck::{ToPascalCase, ToSnakeCase};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// One `allOf` part of an object: its schema, whether it is the error envelope, and the name its
/// inline types are named after.
type ObjectPart<'a> = (&'a Value, bool, String);

#[derive(Debug, Serialize)]
pub struct Context {
    pub base_path: String,
    pub models: Vec<Model>,
    pub tags: Vec<Tag>,
    pub operations: Vec<OperationSummary>,
    pub security_scheme: SecurityScheme,
    pub error: String,
    pub error_list: String,
    pub error_code: String,
}

#[derive(Debug, Serialize)]
pub struct SecurityScheme {
    pub name: String,
    pub rust_name: String,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, Clone)]
pub struct Model {
    pub name: String,
    pub wire_name: String,
    /// `object` or `enum`.
    pub kind: &'static str,
    pub doc: Option<String>,
    pub fields: Vec<Field>,
    pub variants: Vec<Variant>,
    /// An `allOf` that starts from the error envelope: gets `From<Error>`.
    pub extends_error: bool,
    /// `additionalProperties: false`: unknown fields are a 400.
    pub deny_unknown_fields: bool,
    pub defaults: Vec<DefaultFn>,
}

#[derive(Debug, Serialize, Clone)]
pub struct Field {
    pub wire_name: String,
    pub rust_name: String,
    pub ty: String,
    pub attrs: String,
    pub doc: Option<String>,
    /// Part of the error envelope (for `From<Error>` on models that extend it).
    pub from_error: bool,
    pub optional: bool,
    /// Left out of the JSON when `None` (`skip_serializing_if_is_none`).
    pub skip_none: bool,
    /// Not required and nullable: `MaybeUndefined` (left out, null, or a value).
    pub tri_state: bool,
    /// The JSON this field accepts, for the strict body check.
    pub shape: String,
    /// Whether the contract allows `null` here.
    pub nullable: bool,
}

#[derive(Debug, Serialize, Clone)]
pub struct DefaultFn {
    pub name: String,
    pub ty: String,
    pub expr: String,
}

#[derive(Debug, Serialize, Clone)]
pub struct Variant {
    pub wire_name: String,
    pub rust_name: String,
}

#[derive(Debug, Serialize)]
pub struct Tag {
    pub name: String,
    pub rust_name: String,
    pub trait_name: String,
    pub struct_name: String,
    pub doc: Option<String>,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Serialize)]
pub struct OperationSummary {
    pub operation_id: String,
    pub method: String,
    pub path: String,
    /// `path` as poem-openapi's router matches it (`:param0`, `:param1`, ... for its parameters).
    pub route: String,
    pub tag: String,
    pub secured: bool,
    /// The header parameters it declares, lowercased (HTTP names are case-insensitive).
    pub headers: Vec<String>,
    /// The declared error statuses with their envelope: `Single` (Error, or an allOf of it)
    /// or `List` (Errors).
    pub errors: Vec<(u16, &'static str)>,
}

#[derive(Debug, Serialize)]
pub struct Operation {
    pub operation_id: String,
    pub fn_name: String,
    pub method: String,
    pub path: String,
    pub poem_path: String,
    pub endpoint: String,
    pub doc: Option<String>,
    pub summary: Option<String>,
    pub deprecated: bool,
    pub secured: bool,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub response_enum: String,
    pub responses: Vec<Response>,
    /// The 400 response, if declared (undeclared 4xx errors fall back to it).
    pub has_bad_request: bool,
}

#[derive(Debug, Serialize)]
pub struct Param {
    pub wire_name: String,
    /// Whether the handler trait takes it (false for a header the edge consumes).
    pub to_handler: bool,
    pub rust_name: String,
    pub extractor: &'static str,
    pub ty: String,
    pub attrs: String,
    pub doc: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Body {
    pub ty: String,
    pub doc: Option<String>,
    pub shape: String,
}

#[derive(Debug, Serialize)]
pub struct Response {
    pub status: u16,
    pub variant: String,
    pub doc: String,
    pub ty: Option<String>,
    /// For error statuses: `error`, `list` or `extends`.
    pub error_kind: Option<&'static str>,
    /// Response headers a success response declares (`responses.<status>.headers`), in the
    /// contract's order: the variant carries each.
    pub headers: Vec<ResponseHeader>,
    /// An error response declares a `Retry-After` header (seconds): the variant carries it,
    /// filled from `ApiError::retry_after`.
    pub retry_after: bool,
}

#[derive(Debug, Serialize)]
pub struct ResponseHeader {
    pub wire_name: String,
    /// `Option<T>` unless the header is `required`.
    pub ty: String,
}

struct TypeInfo {
    ty: String,
    validators: Vec<String>,
    nullable: bool,
    /// A `Shape` expression: what JSON the strict body check accepts here (see runtime.rs.jinja).
    shape: String,
}

struct Builder<'a> {
    doc: &'a Value,
    envelope: &'a ErrorEnvelope,
    models: Vec<Model>,
    /// Model names already emitted, with the address of the schema each was built from, so that
    /// a schema met again (an `allOf` part, say) reuses its model instead of emitting a twin.
    names: std::collections::BTreeMap<String, usize>,
}

const RUST_KEYWORDS: [&str; 38] = [
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static",
    "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "yield",
];

pub fn rust_ident(wire: &str) -> String {
    let snake = wire.replace('-', "_").to_snake_case();
    if RUST_KEYWORDS.contains(&snake.as_str()) {
        format!("{snake}_")
    } else {
        snake
    }
}

fn pascal(name: &str) -> String {
    name.to_pascal_case()
}

/// A Rust string literal for `s`.
pub fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn doc_of(schema: &Value) -> Option<String> {
    schema.get("description").and_then(Value::as_str).map(|s| s.trim_end().to_string()).filter(|s| !s.is_empty())
}

fn ref_name(reference: &str) -> Option<&str> {
    reference.strip_prefix("#/components/schemas/")
}

impl<'a> Builder<'a> {
    fn resolve_ref(&self, reference: &str) -> Result<&'a Value> {
        pointer(self.doc, reference).ok_or_else(|| anyhow!("unresolved {reference}"))
    }

    /// A named component that becomes a Rust type (object, enum, allOf) rather than a primitive.
    /// Exactly the schemas `component_models` emits a model for: an object without `properties`
    /// (free-form, or a map) is a `serde_json::Value` or `BTreeMap`, not a model of its own.
    fn is_named_type(schema: &Value) -> bool {
        schema.get("properties").is_some() || schema.get("enum").is_some() || schema.get("allOf").is_some()
    }

    /// Whether a model for this schema was emitted already; an error if the name is taken by another.
    fn seen(&self, name: &str, schema: &Value) -> Result<bool> {
        match self.names.get(name) {
            Some(addr) if *addr == schema as *const Value as usize => Ok(true),
            Some(_) => bail!("two models would be named {name}; give one a different name in the contract"),
            None => Ok(false),
        }
    }

    fn add_model(&mut self, model: Model, schema: &Value) -> Result<()> {
        self.names.insert(model.name.clone(), schema as *const Value as usize);
        self.models.push(model);
        Ok(())
    }

    fn type_of(&mut self, schema: &'a Value, hint: &str) -> Result<TypeInfo> {
        let nullable = schema.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = ref_name(reference).ok_or_else(|| anyhow!("unsupported $ref {reference}"))?;
            let target = self.resolve_ref(reference)?;
            if Self::is_named_type(target) {
                let shape = if target.get("enum").is_some() {
                    one_of(target)
                } else {
                    format!("Shape::Obj({}::strict_check)", pascal(name))
                };
                return Ok(TypeInfo { ty: pascal(name), validators: vec![], nullable, shape });
            }
            let mut info = self.type_of(target, name)?;
            info.nullable |= nullable;
            return Ok(info);
        }
        if let Some(all_of) = schema.get("allOf").and_then(Value::as_array) {
            if all_of.len() == 1 {
                let mut info = self.type_of(&all_of[0], hint)?;
                info.nullable |= nullable;
                return Ok(info);
            }
            self.object_model(schema, hint)?;
            let shape = format!("Shape::Obj({hint}::strict_check)");
            return Ok(TypeInfo { ty: hint.to_string(), validators: vec![], nullable, shape });
        }
        if schema.get("enum").is_some() {
            self.enum_model(schema, hint)?;
            return Ok(TypeInfo { ty: hint.to_string(), validators: vec![], nullable, shape: one_of(schema) });
        }
        let ty = schema.get("type").and_then(Value::as_str).unwrap_or("object");
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        let mut validators = Vec::new();
        let mut shape = String::from("Shape::Any");
        let rust = match ty {
            "string" => {
                let rust = match format {
                    "uuid" => "uuid::Uuid",
                    "date-time" => "chrono::DateTime<chrono::FixedOffset>",
                    "date" => "chrono::NaiveDate",
                    "time" => "RfcTime",
                    "email" => "poem_openapi::types::Email",
                    _ => "String",
                };
                // A uuid's length and pattern are implied by its format; the parser enforces them.
                if rust == "String" || rust == "poem_openapi::types::Email" {
                    if let Some(n) = schema.get("minLength").and_then(Value::as_u64) {
                        validators.push(format!("min_length = {n}"));
                    }
                    if let Some(n) = schema.get("maxLength").and_then(Value::as_u64) {
                        validators.push(format!("max_length = {n}"));
                    }
                }
                if rust == "String" {
                    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
                        validators.push(format!("pattern = {}", lit(p)));
                    }
                }
                // A date names its field when it is no date (poem's parse error would not).
                shape = if format == "date" { "Shape::Date" } else { "Shape::Str" }.into();
                rust.to_string()
            }
            "integer" => {
                number_validators(schema, &mut validators);
                shape = "Shape::Int".into();
                if format == "int32" { "i32" } else { "i64" }.to_string()
            }
            "number" => {
                number_validators(schema, &mut validators);
                shape = "Shape::Num".into();
                "f64".to_string()
            }
            "boolean" => {
                shape = "Shape::Bool".into();
                "bool".to_string()
            }
            "array" => {
                let items = schema.get("items").ok_or_else(|| anyhow!("{hint}: array without items"))?;
                let item = self.type_of(items, &format!("{hint}Item"))?;
                if !item.validators.is_empty() {
                    bail!("{hint}: constraints on array items are not supported by the generator");
                }
                let item_ty = if item.nullable { format!("Option<{}>", item.ty) } else { item.ty };
                shape = if item.nullable {
                    format!("Shape::List(&Shape::Nullable(&{}))", item.shape)
                } else {
                    format!("Shape::List(&{})", item.shape)
                };
                if let Some(n) = schema.get("minItems").and_then(Value::as_u64) {
                    validators.push(format!("min_items = {n}"));
                }
                if let Some(n) = schema.get("maxItems").and_then(Value::as_u64) {
                    validators.push(format!("max_items = {n}"));
                }
                if schema.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
                    validators.push("unique_items".to_string());
                }
                format!("Vec<{item_ty}>")
            }
            "object" => {
                if schema.get("properties").is_some() {
                    self.object_model(schema, hint)?;
                    shape = format!("Shape::Obj({hint}::strict_check)");
                    hint.to_string()
                } else if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                    let value = self.type_of(extra, &format!("{hint}Value"))?;
                    shape = format!("Shape::Map(&{})", value.shape);
                    format!("std::collections::BTreeMap<String, {}>", value.ty)
                } else {
                    "serde_json::Value".to_string()
                }
            }
            other => bail!("{hint}: unsupported type {other}"),
        };
        Ok(TypeInfo { ty: rust, validators, nullable, shape })
    }

    fn enum_model(&mut self, schema: &Value, name: &str) -> Result<()> {
        if self.seen(name, schema)? {
            return Ok(());
        }
        let items = schema["enum"].as_array().ok_or_else(|| anyhow!("{name}: enum is not a list"))?;
        let mut variants = Vec::new();
        for item in items {
            let wire = item.as_str().ok_or_else(|| anyhow!("{name}: only string enums are supported"))?;
            variants.push(Variant { wire_name: wire.to_string(), rust_name: pascal(wire) });
        }
        self.add_model(
            Model {
                name: name.to_string(),
                wire_name: name.to_string(),
                kind: "enum",
                doc: doc_of(schema),
                fields: vec![],
                variants,
                extends_error: false,
                deny_unknown_fields: false,
                defaults: vec![],
            },
            schema,
        )
    }

    /// Flattens `allOf` parts (resolving `$ref`s) into one property list.
    /// Each part comes with the name its inline types are named after (a `$ref`'s own name).
    fn object_parts(&self, schema: &'a Value, name: &str) -> Result<(Vec<ObjectPart<'a>>, bool)> {
        let mut parts = Vec::new();
        let mut extends_error = false;
        if let Some(all_of) = schema.get("allOf").and_then(Value::as_array) {
            for part in all_of {
                let (resolved, is_error, base) = match part.get("$ref").and_then(Value::as_str) {
                    Some(r) => {
                        let target = ref_name(r).unwrap_or(name);
                        (self.resolve_ref(r)?, target == self.envelope.error, pascal(target))
                    }
                    None => (part, false, name.to_string()),
                };
                extends_error |= is_error;
                parts.push((resolved, is_error, base));
            }
        } else {
            parts.push((schema, false, name.to_string()));
        }
        Ok((parts, extends_error))
    }

    fn object_model(&mut self, schema: &'a Value, name: &str) -> Result<()> {
        if self.seen(name, schema)? {
            return Ok(());
        }
        let (parts, extends_error) = self.object_parts(schema, name)?;
        let mut fields: Vec<Field> = Vec::new();
        let mut defaults = Vec::new();
        for (part, from_error, base) in parts {
            let required: Vec<&str> = part
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let Some(props) = part.get("properties").and_then(Value::as_object) else { continue };
            for (wire, prop) in props {
                if fields.iter().any(|f| &f.wire_name == wire) {
                    bail!("{name}: property {wire} is defined twice");
                }
                let info = self.type_of(prop, &format!("{base}{}", pascal(wire)))?;
                let rust_name = rust_ident(wire);
                let is_required = required.contains(&wire.as_str());
                let default = prop.get("default");
                let mut attrs = Vec::new();
                if &rust_name != wire {
                    attrs.push(format!("rename = {}", lit(wire)));
                }
                let optional = (!is_required || info.nullable) && default.is_none();
                // Left out, null and a value are three answers where a property may be both
                // absent and null (in a partial update: keep, back to the default, set), as
                // openapi-generator's JsonNullable: poem-openapi's `MaybeUndefined` reads and
                // writes exactly those three.
                let tri_state = !is_required && info.nullable && default.is_none();
                let ty = if tri_state {
                    format!("MaybeUndefined<{}>", info.ty)
                } else if optional {
                    format!("Option<{}>", info.ty)
                } else {
                    info.ty.clone()
                };
                let skip_none = optional && !tri_state && !(is_required && info.nullable);
                if skip_none {
                    // Absent rather than null where the contract does not allow null.
                    attrs.push("skip_serializing_if_is_none".to_string());
                }
                if let Some(default) = default {
                    let fn_name = format!("default_{}_{}", rust_ident(name), rust_name.trim_end_matches('_'));
                    defaults.push(DefaultFn {
                        name: fn_name.clone(),
                        ty: info.ty.clone(),
                        expr: default_expr(default, &info.ty)?,
                    });
                    attrs.push(format!("default = {}", lit(&fn_name)));
                }
                if !info.validators.is_empty() {
                    attrs.push(format!("validator({})", info.validators.join(", ")));
                }
                fields.push(Field {
                    wire_name: wire.clone(),
                    rust_name,
                    ty,
                    attrs: attrs.join(", "),
                    doc: doc_of(prop),
                    from_error,
                    optional,
                    skip_none,
                    tri_state,
                    shape: info.shape.clone(),
                    nullable: info.nullable,
                });
            }
        }
        // Names listed as required that no part defines (a contract flaw) would make every
        // response non-conforming: refuse to build until the contract defines them.
        for part in self.object_parts(schema, name)?.0 {
            for req in part.0.get("required").and_then(Value::as_array).into_iter().flatten() {
                let req = req.as_str().unwrap_or_default();
                if !fields.iter().any(|f| f.wire_name == req) {
                    bail!("{name}: `{req}` is required but never defined; define it in merge.yaml additions");
                }
            }
        }
        self.add_model(
            Model {
                name: name.to_string(),
                wire_name: name.to_string(),
                kind: "object",
                doc: doc_of(schema),
                fields,
                variants: vec![],
                extends_error,
                deny_unknown_fields: schema.get("additionalProperties").and_then(Value::as_bool) == Some(false),
                defaults,
            },
            schema,
        )
    }

    fn component_models(&mut self) -> Result<()> {
        let Some(schemas) = self.doc.pointer("/components/schemas").and_then(Value::as_object) else {
            return Ok(());
        };
        for (name, schema) in schemas {
            if !Self::is_named_type(schema) {
                continue;
            }
            if schema.get("enum").is_some() {
                self.enum_model(schema, &pascal(name))?;
            } else if schema.get("properties").is_some() || schema.get("allOf").is_some() {
                self.object_model(schema, &pascal(name))?;
            }
            if let Some(m) = self.models.last_mut() {
                m.wire_name = name.clone();
            }
        }
        Ok(())
    }
}

fn number_validators(schema: &Value, out: &mut Vec<String>) {
    for (key, attr, exclusive_key) in
        [("minimum", "minimum", "exclusiveMinimum"), ("maximum", "maximum", "exclusiveMaximum")]
    {
        if let Some(n) = schema.get(key).filter(|v| v.is_number()) {
            let exclusive = schema.get(exclusive_key).and_then(Value::as_bool) == Some(true);
            out.push(format!("{attr}(value = {}{})", lit(&n.to_string()), if exclusive { ", exclusive" } else { "" }));
        }
    }
}

fn default_expr(value: &Value, ty: &str) -> Result<String> {
    Ok(match (value, ty) {
        (Value::Bool(b), "bool") => b.to_string(),
        (Value::Number(n), "i64" | "i32" | "f64") => n.to_string(),
        (Value::String(s), "String") => format!("{}.to_string()", lit(s)),
        (Value::String(s), enum_ty) => format!("{enum_ty}::{}", pascal(s)),
        _ => bail!("unsupported default {value} for {ty}"),
    })
}

fn status_variant(status: u16) -> String {
    match status {
        200 => "Ok".into(),
        201 => "Created".into(),
        202 => "Accepted".into(),
        204 => "NoContent".into(),
        304 => "NotModified".into(),
        400 => "BadRequest".into(),
        401 => "Unauthorized".into(),
        403 => "Forbidden".into(),
        404 => "NotFound".into(),
        409 => "Conflict".into(),
        413 => "PayloadTooLarge".into(),
        422 => "UnprocessableEntity".into(),
        429 => "TooManyRequests".into(),
        500 => "InternalServerError".into(),
        503 => "ServiceUnavailable".into(),
        other => format!("Status{other}"),
    }
}

/// `edge_headers`: header parameters (any case) the server's edge consumes; their routes parse
/// them, their handlers are not given them.
pub fn build(doc: &Value, envelope: &ErrorEnvelope, edge_headers: &[&str]) -> Result<Context> {
    let mut b = Builder { doc, envelope, models: vec![], names: Default::default() };
    check_envelope(doc, envelope)?;
    b.component_models()?;

    let base_path =
        doc.pointer("/servers/0/url").and_then(Value::as_str).unwrap_or("").trim_end_matches('/').to_string();

    let scheme_entries = doc.pointer("/components/securitySchemes").and_then(Value::as_object);
    let (scheme_name, scheme) = match scheme_entries.map(|m| m.iter().collect::<Vec<_>>()) {
        Some(v) if v.len() == 1 => v[0],
        _ => bail!("the generator supports exactly one security scheme (bearer)"),
    };
    if scheme.get("type").and_then(Value::as_str) != Some("http")
        || scheme.get("scheme").and_then(Value::as_str) != Some("bearer")
    {
        bail!("security scheme {scheme_name} must be http bearer");
    }

    let mut tags: Vec<Tag> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let name = t["name"].as_str().unwrap_or_default().to_string();
            let rust = pascal(&name);
            Tag {
                trait_name: format!("{rust}Handlers"),
                struct_name: format!("{rust}Api"),
                rust_name: rust,
                doc: doc_of(t),
                name,
                operations: vec![],
            }
        })
        .collect();
    let mut summaries = Vec::new();

    let ops: Vec<_> = operations(doc).collect();
    for op in ops {
        let id = op.id;
        let op_pascal = pascal(id);
        let secured = is_secured(doc, op.op);
        let mut params = Vec::new();
        let mut all_params: Vec<&Value> = Vec::new();
        if let Some(item_params) = doc["paths"][op.path].get("parameters").and_then(Value::as_array) {
            all_params.extend(item_params);
        }
        all_params.extend(op.op.get("parameters").and_then(Value::as_array).into_iter().flatten());
        for p in all_params {
            let p = match p.get("$ref").and_then(Value::as_str) {
                Some(r) => b.resolve_ref(r)?,
                None => p,
            };
            let wire = p["name"].as_str().ok_or_else(|| anyhow!("{id}: parameter without name"))?;
            let location = p["in"].as_str().unwrap_or_default();
            let extractor = match location {
                "path" => "Path",
                "query" => "Query",
                "header" => "Header",
                "cookie" => "Cookie",
                other => bail!("{id}: parameter {wire} in {other} is not supported"),
            };
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            let schema = p.get("schema").ok_or_else(|| anyhow!("{id}: parameter {wire} has no schema"))?;
            let info = b.type_of(schema, &format!("{op_pascal}{}", pascal(wire)))?;
            let ty = if required { info.ty } else { format!("Option<{}>", info.ty) };
            let mut attrs = vec![format!("name = {}", lit(wire))];
            if !info.validators.is_empty() {
                attrs.push(format!("validator({})", info.validators.join(", ")));
            }
            params.push(Param {
                to_handler: !(location == "header" && edge_headers.iter().any(|h| h.eq_ignore_ascii_case(wire))),
                wire_name: wire.to_string(),
                rust_name: rust_ident(wire),
                extractor,
                ty,
                attrs: attrs.join(", "),
                doc: doc_of(p),
            });
        }

        let body = match op.op.get("requestBody") {
            None => None,
            Some(rb) => {
                let rb = match rb.get("$ref").and_then(Value::as_str) {
                    Some(r) => b.resolve_ref(r)?,
                    None => rb,
                };
                let schema = rb
                    .pointer("/content/application~1json/schema")
                    .ok_or_else(|| anyhow!("{id}: only application/json request bodies are supported"))?;
                let info = b.type_of(schema, &format!("{op_pascal}Request"))?;
                if rb.get("required").and_then(Value::as_bool) != Some(true) {
                    bail!("{id}: optional request bodies are not supported");
                }
                Some(Body { ty: info.ty, doc: doc_of(rb), shape: info.shape })
            }
        };

        let mut responses = Vec::new();
        let resp_map = op.op["responses"].as_object().ok_or_else(|| anyhow!("{id}: no responses"))?;
        for (status, resp) in resp_map {
            let code: u16 = status.parse().with_context(|| format!("{id}: response {status} is not a status code"))?;
            let resp = match resp.get("$ref").and_then(Value::as_str) {
                Some(r) => b.resolve_ref(r)?,
                None => resp,
            };
            let schema = match resp.get("content").and_then(Value::as_object) {
                None => None,
                Some(content) => Some(
                    content
                        .get("application/json")
                        .and_then(|c| c.get("schema"))
                        .ok_or_else(|| anyhow!("{id} {status}: only application/json responses are supported"))?,
                ),
            };
            let (ty, error_kind) = match schema {
                None => (None, None),
                Some(schema) => {
                    let info = b.type_of(schema, &format!("{op_pascal}{status}Response"))?;
                    let kind = if code >= 400 { Some(error_kind(doc, envelope, schema, id, code)?) } else { None };
                    (Some(info.ty), kind)
                }
            };
            if code >= 400 && error_kind.is_none() {
                bail!("{id}: error response {status} must carry the error envelope (add its content in merge.yaml)");
            }
            let mut headers = Vec::new();
            let mut retry_after = false;
            for (name, header) in resp.get("headers").and_then(Value::as_object).into_iter().flatten() {
                if error_kind.is_some() {
                    // The only error-response header the runtime knows how to fill.
                    if name != "Retry-After" {
                        bail!("{id} {status}: an error response may declare only a Retry-After header");
                    }
                    retry_after = true;
                    continue;
                }
                if ty.is_none() && !(300..400).contains(&code) {
                    bail!("{id} {status}: response headers need a response body (a 3xx may have them alone)");
                }
                let header = match header.get("$ref").and_then(Value::as_str) {
                    Some(r) => b.resolve_ref(r)?,
                    None => header,
                };
                let schema =
                    header.get("schema").ok_or_else(|| anyhow!("{id} {status}: header {name} has no schema"))?;
                let info = b.type_of(schema, &format!("{op_pascal}{status}{}Header", pascal(name)))?;
                let required = header.get("required").and_then(Value::as_bool).unwrap_or(false);
                headers.push(ResponseHeader {
                    wire_name: name.clone(),
                    ty: if required { info.ty } else { format!("Option<{}>", info.ty) },
                });
            }
            responses.push(Response {
                status: code,
                variant: status_variant(code),
                doc: resp.get("description").and_then(Value::as_str).unwrap_or_default().trim().to_string(),
                ty,
                error_kind,
                headers,
                retry_after,
            });
        }
        if !responses.iter().any(|r| r.status == 500) {
            bail!("{id}: every operation must declare 500 (merge.yaml response_additions)");
        }
        if secured && !responses.iter().any(|r| r.status == 401) {
            bail!("{id}: a secured operation must declare 401 (merge.yaml response_additions)");
        }

        let tag_name = &op.tags[0];
        let tag = tags.iter_mut().find(|t| &t.name == tag_name).expect("tags checked by merge");
        let contract_path = op.path.to_string();
        let poem_path = contract_path
            .split('/')
            .map(|seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(var) => format!(":{var}"),
                None => seg.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        // What poem-openapi's router registers for that path: it renames the parameters
        // `param0`, `param1`, ... in order (poem-openapi-derive's `convert_oai_path`), so this is
        // the pattern a request is matched by and the names its raw parameters carry.
        let mut index = 0;
        let router_path = contract_path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') && seg.ends_with('}') {
                    index += 1;
                    format!(":param{}", index - 1)
                } else {
                    seg.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        summaries.push(OperationSummary {
            operation_id: id.to_string(),
            method: op.method.to_uppercase(),
            path: contract_path.clone(),
            route: router_path,
            tag: tag_name.clone(),
            secured,
            headers: params
                .iter()
                .filter(|p| p.extractor == "Header")
                .map(|p| p.wire_name.to_ascii_lowercase())
                .collect(),
            errors: responses
                .iter()
                .filter_map(|r| r.error_kind.map(|k| (r.status, if k == "list" { "List" } else { "Single" })))
                .collect(),
        });
        let has_bad_request = responses.iter().any(|r| r.status == 400);
        tag.operations.push(Operation {
            operation_id: id.to_string(),
            fn_name: rust_ident(id),
            method: op.method.to_string(),
            endpoint: format!("{} {base_path}{contract_path}", op.method.to_uppercase()),
            path: contract_path,
            poem_path,
            doc: doc_of(op.op),
            summary: op.op.get("summary").and_then(Value::as_str).map(str::to_string),
            deprecated: op.op.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
            secured,
            params,
            body,
            response_enum: format!("{op_pascal}Response"),
            responses,
            has_bad_request,
        });
    }
    tags.retain(|t| !t.operations.is_empty());

    let error_code = format!("{}Code", pascal(&envelope.error));
    Ok(Context {
        base_path,
        models: b.models,
        tags,
        operations: summaries,
        security_scheme: SecurityScheme {
            name: scheme_name.clone(),
            rust_name: pascal(scheme_name),
            description: doc_of(scheme),
        },
        error: pascal(&envelope.error),
        error_list: pascal(&envelope.list),
        error_code,
    })
}

/// The runtime template builds the envelope as `{code, message, endpoint, requestId}` and the list
/// as `{errors: [..]}`; refuse to generate against a contract whose envelope differs.
fn check_envelope(doc: &Value, envelope: &ErrorEnvelope) -> Result<()> {
    let error = doc
        .pointer(&format!("/components/schemas/{}", envelope.error))
        .ok_or_else(|| anyhow!("error envelope {} is not defined", envelope.error))?;
    let required: BTreeSet<&str> =
        error["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let expected: BTreeSet<&str> = ["code", "message", "endpoint", "requestId"].into();
    if required != expected || error.pointer("/properties/code/enum").is_none() {
        bail!("error envelope {} must require exactly code (an enum), message, endpoint, requestId", envelope.error);
    }
    let list = doc
        .pointer(&format!("/components/schemas/{}", envelope.list))
        .ok_or_else(|| anyhow!("error list {} is not defined", envelope.list))?;
    if list.pointer("/properties/errors/items/$ref").and_then(Value::as_str)
        != Some(&format!("#/components/schemas/{}", envelope.error))
    {
        bail!("error list {} must be {{errors: [{}]}}", envelope.list, envelope.error);
    }
    Ok(())
}

fn error_kind(doc: &Value, envelope: &ErrorEnvelope, schema: &Value, id: &str, code: u16) -> Result<&'static str> {
    let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(ref_name) else {
        bail!("{id} {code}: an error response must reference the error envelope");
    };
    if name == envelope.error {
        return Ok("error");
    }
    if name == envelope.list {
        return Ok("list");
    }
    let target = doc.pointer(&format!("/components/schemas/{name}")).expect("refs checked by merge");
    let extends = target["allOf"]
        .as_array()
        .map(|parts| {
            parts.iter().any(|p| p["$ref"].as_str() == Some(&format!("#/components/schemas/{}", envelope.error)))
        })
        .unwrap_or(false);
    if extends {
        Ok("extends")
    } else {
        bail!("{id} {code}: error schema {name} is neither the envelope, its list, nor an allOf of it")
    }
}

/// The shape of a string enum: one of its values, named in the error when it is not.
fn one_of(schema: &Value) -> String {
    let values: Vec<String> =
        schema["enum"].as_array().into_iter().flatten().filter_map(Value::as_str).map(lit).collect();
    format!("Shape::OneOf(&[{}])", values.join(", "))
}
