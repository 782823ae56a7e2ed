//! The merge rules of `spec/merge.yaml`, each shown on a small fixture contract generated with the
//! real templates. Every test fails if its rule is not enforced.

mod common;

use common::*;
use serde_json::{json, Value};

fn slot(extra_property: &str) -> Value {
    json!({
        "type": "object",
        "required": ["start"],
        "properties": {"start": {"type": "string", "format": "date-time"}, extra_property: {"type": "integer"}}
    })
}

// ---- components ------------------------------------------------------------------------------

#[test]
fn identical_components_from_two_documents_are_shared() {
    let a = doc(json!({"/a": {"get": op("getA", ok_with(schema_ref("Shared")))}}), json!({"Shared": slot("places")}));
    let b = doc(json!({"/b": {"get": op("getB", ok_with(schema_ref("Shared")))}}), json!({"Shared": slot("places")}));
    let f = Fixture::new(
        &settings(files(&["base.yaml", "a.yaml", "b.json"])),
        &[("base.yaml", &base_doc()), ("a.yaml", &a), ("b.json", &b)],
    );
    let (merged, api) = f.ok();
    let names: Vec<&String> = merged["components"]["schemas"].as_object().unwrap().keys().collect();
    assert_eq!(names.iter().filter(|n| n.as_str() == "Shared").count(), 1);
    assert_eq!(merged["components"]["schemas"]["Shared"], slot("places"));
    assert_eq!(operation(&merged, "/a", "get")["responses"]["200"], ok_with(schema_ref("Shared"))["200"]);
    assert_eq!(operation(&merged, "/b", "get")["responses"]["200"], ok_with(schema_ref("Shared"))["200"]);
    assert_eq!(api.matches("pub struct Shared {").count(), 1, "one model for the shared component");
}

#[test]
fn identical_components_are_shared_whatever_their_key_order() {
    // The same schema written with its keys in another order (YAML vs JSON documents differ so).
    let reordered = json!({
        "properties": {"places": {"type": "integer"}, "start": {"format": "date-time", "type": "string"}},
        "required": ["start"],
        "type": "object"
    });
    let a = doc(json!({"/a": {"get": op("getA", ok_with(schema_ref("Shared")))}}), json!({"Shared": slot("places")}));
    let b = doc(json!({"/b": {"get": op("getB", ok_with(schema_ref("Shared")))}}), json!({"Shared": reordered}));
    let f = Fixture::new(
        &settings(files(&["base.yaml", "a.yaml", "b.yaml"])),
        &[("base.yaml", &base_doc()), ("a.yaml", &a), ("b.yaml", &b)],
    );
    let (merged, _) = f.ok();
    assert_eq!(merged["components"]["schemas"]["Shared"], slot("places"));
}

#[test]
fn differing_same_named_components_are_an_error_naming_the_component() {
    let a = doc(json!({"/a": {"get": op("getA", ok_with(schema_ref("Slot")))}}), json!({"Slot": slot("places")}));
    let b = doc(json!({"/b": {"get": op("getB", ok_with(schema_ref("Slot")))}}), json!({"Slot": slot("price")}));
    let f = Fixture::new(
        &settings(files(&["base.yaml", "a.yaml", "b.yaml"])),
        &[("base.yaml", &base_doc()), ("a.yaml", &a), ("b.yaml", &b)],
    );
    f.rejects(&["components.schemas.Slot", "a.yaml", "b.yaml", "rename"]);
}

#[test]
fn a_declared_rename_separates_differing_components_and_rewrites_that_documents_refs() {
    let a = doc(json!({"/a": {"get": op("getA", ok_with(schema_ref("Slot")))}}), json!({"Slot": slot("places")}));
    let b = doc(
        json!({"/b": {"get": op("getB", ok_with(json!({"type": "array", "items": schema_ref("Slot")})))}}),
        json!({
            "Slot": slot("price"),
            "Day": {"type": "object", "properties": {"slots": {"type": "array", "items": schema_ref("Slot")}}}
        }),
    );
    let documents = json!([
        {"file": "base.yaml"},
        {"file": "a.yaml"},
        {"file": "b.yaml", "renames": [{"why": "b's Slot has a price", "section": "schemas", "from": "Slot", "to": "PricedSlot"}]}
    ]);
    let f = Fixture::new(&settings(documents), &[("base.yaml", &base_doc()), ("a.yaml", &a), ("b.yaml", &b)]);
    let (merged, api) = f.ok();
    let schemas = &merged["components"]["schemas"];
    assert_eq!(schemas["Slot"], slot("places"), "a's Slot keeps its name");
    assert_eq!(schemas["PricedSlot"], slot("price"), "b's Slot is renamed");
    // b's references follow the rename, a's do not.
    assert_eq!(
        operation(&merged, "/a", "get").pointer("/responses/200/content/application~1json/schema/$ref"),
        Some(&json!("#/components/schemas/Slot"))
    );
    assert_eq!(
        operation(&merged, "/b", "get").pointer("/responses/200/content/application~1json/schema/items/$ref"),
        Some(&json!("#/components/schemas/PricedSlot"))
    );
    assert_eq!(schemas.pointer("/Day/properties/slots/items/$ref"), Some(&json!("#/components/schemas/PricedSlot")));
    assert!(api.contains("pub struct Slot {") && api.contains("pub struct PricedSlot {"));
}

#[test]
fn a_rename_of_references_only_points_them_at_a_component_of_another_document() {
    // As 000 does with TimeSlot: it references a component it never defines, and the rename
    // sends those references to the companion's AvailableSlot instead of 003's TimeSlot.
    let seed = doc(
        json!({"/free": {"get": op("getFree", ok_with(json!({"type": "array", "items": schema_ref("TimeSlot")})))}}),
        json!({}),
    );
    let other = doc(json!({}), json!({"TimeSlot": slot("price")}));
    let companion = doc(json!({}), json!({"AvailableSlot": slot("places")}));
    let documents = json!([
        {"file": "base.yaml"},
        {"file": "seed.json", "renames": [{"why": "seed means an available slot", "section": "schemas", "from": "TimeSlot", "to": "AvailableSlot"}]},
        {"file": "other.yaml"},
        {"file": "companion.yaml"}
    ]);
    let f = Fixture::new(
        &settings(documents),
        &[("base.yaml", &base_doc()), ("seed.json", &seed), ("other.yaml", &other), ("companion.yaml", &companion)],
    );
    let (merged, _) = f.ok();
    assert_eq!(
        operation(&merged, "/free", "get").pointer("/responses/200/content/application~1json/schema/items/$ref"),
        Some(&json!("#/components/schemas/AvailableSlot"))
    );
    assert_eq!(merged["components"]["schemas"]["TimeSlot"], slot("price"));
    assert_eq!(merged["components"]["schemas"]["AvailableSlot"], slot("places"));
}

#[test]
fn a_rename_onto_a_component_the_document_also_defines_is_an_error() {
    // Renaming Slot to Other would silently drop the document's own Other.
    let a = doc(
        json!({"/a": {"get": op("getA", ok_with(schema_ref("Slot")))}}),
        json!({"Slot": slot("places"), "Other": slot("price")}),
    );
    let documents = json!([
        {"file": "base.yaml"},
        {"file": "a.yaml", "renames": [{"why": "test", "section": "schemas", "from": "Slot", "to": "Other"}]}
    ]);
    let f = Fixture::new(&settings(documents), &[("base.yaml", &base_doc()), ("a.yaml", &a)]);
    f.rejects(&["a.yaml", "#/components/schemas/Other"]);
}

// ---- paths and operationIds ------------------------------------------------------------------

#[test]
fn the_same_path_and_method_in_two_documents_is_an_error() {
    let a = doc(json!({"/things": {"get": op("listThings", json!({"200": {"description": "ok"}}))}}), json!({}));
    let b = doc(json!({"/things": {"get": op("listThingsAgain", json!({"200": {"description": "ok"}}))}}), json!({}));
    let f = Fixture::new(
        &settings(files(&["base.yaml", "a.yaml", "b.yaml"])),
        &[("base.yaml", &base_doc()), ("a.yaml", &a), ("b.yaml", &b)],
    );
    f.rejects(&["GET /things", "defined by two documents", "b.yaml"]);
}

#[test]
fn the_same_path_with_different_methods_in_two_documents_is_merged() {
    let a = doc(json!({"/things": {"get": op("listThings", json!({"200": {"description": "ok"}}))}}), json!({}));
    let b = doc(json!({"/things": {"post": op("createThing", json!({"201": {"description": "created"}}))}}), json!({}));
    let f = Fixture::new(
        &settings(files(&["base.yaml", "a.yaml", "b.yaml"])),
        &[("base.yaml", &base_doc()), ("a.yaml", &a), ("b.yaml", &b)],
    );
    let (merged, _) = f.ok();
    assert_eq!(operation(&merged, "/things", "get")["operationId"], "listThings");
    assert_eq!(operation(&merged, "/things", "post")["operationId"], "createThing");
}

#[test]
fn a_duplicate_operation_id_is_an_error() {
    let a = doc(json!({"/a": {"get": op("getThing", json!({"200": {"description": "ok"}}))}}), json!({}));
    let b = doc(json!({"/b": {"get": op("getThing", json!({"200": {"description": "ok"}}))}}), json!({}));
    let f = Fixture::new(
        &settings(files(&["base.yaml", "a.yaml", "b.yaml"])),
        &[("base.yaml", &base_doc()), ("a.yaml", &a), ("b.yaml", &b)],
    );
    f.rejects(&["operationId getThing", "a.yaml", "b.yaml"]);
}

#[test]
fn a_duplicate_operation_id_within_one_document_is_an_error() {
    let a = doc(
        json!({
            "/a": {"get": op("getThing", json!({"200": {"description": "ok"}}))},
            "/b": {"get": op("getThing", json!({"200": {"description": "ok"}}))}
        }),
        json!({}),
    );
    let f = Fixture::new(&settings(files(&["base.yaml", "a.yaml"])), &[("base.yaml", &base_doc()), ("a.yaml", &a)]);
    f.rejects(&["operationId getThing"]);
}

// ---- $refs -----------------------------------------------------------------------------------

#[test]
fn an_unresolved_ref_is_an_error() {
    let a = doc(json!({"/a": {"get": op("getA", ok_with(schema_ref("Missing")))}}), json!({}));
    let f = Fixture::new(&settings(files(&["base.yaml", "a.yaml"])), &[("base.yaml", &base_doc()), ("a.yaml", &a)]);
    f.rejects(&["unresolved $ref #/components/schemas/Missing"]);
}

#[test]
fn an_unresolved_ref_inside_a_component_is_an_error() {
    let a = doc(
        json!({"/a": {"get": op("getA", ok_with(schema_ref("Holder")))}}),
        json!({"Holder": {"type": "object", "properties": {"inner": schema_ref("Nowhere")}}}),
    );
    let f = Fixture::new(&settings(files(&["base.yaml", "a.yaml"])), &[("base.yaml", &base_doc()), ("a.yaml", &a)]);
    f.rejects(&["unresolved $ref #/components/schemas/Nowhere"]);
}

// ---- response_additions ----------------------------------------------------------------------

/// Three operations: `publicOp` (operation-level `security: []`), `inheritedOp` (no security of
/// its own) and `explicitOp` (its own bearer security); `publicOp` declares its own 500.
fn security_fixture(document_security: Value, extra_additions: Vec<Value>) -> Fixture {
    let mut public = op(
        "publicOp",
        json!({
            "200": {"description": "ok"},
            "500": {"description": "the operation's own 500", "content": {"application/json": {"schema": schema_ref("Error")}}}
        }),
    );
    public["security"] = json!([]);
    let inherited = op("inheritedOp", json!({"200": {"description": "ok"}}));
    let mut explicit = op("explicitOp", json!({"200": {"description": "ok"}}));
    explicit["security"] = json!([{"bearerHttpAuthentication": []}]);
    let a = doc(
        json!({"/public": {"get": public}, "/inherited": {"get": inherited}, "/explicit": {"get": explicit}}),
        json!({}),
    );
    let mut s = settings(files(&["base.yaml", "a.yaml"]));
    s["security"] = document_security;
    s["response_additions"].as_array_mut().unwrap().extend(extra_additions);
    Fixture::new(&s, &[("base.yaml", &base_doc()), ("a.yaml", &a)])
}

fn too_many_requests(selector: Value) -> Value {
    json!({"why": "rate limited", "operations": selector, "status": "429",
           "response": {"$ref": "#/components/responses/TooManyRequests"}})
}

#[test]
fn a_response_addition_adds_a_status_only_where_the_operation_lacks_it() {
    let f = security_fixture(json!([{"bearerHttpAuthentication": []}]), vec![]);
    let (merged, _) = f.ok();
    // publicOp keeps the 500 it declares; the others get the settings' one.
    assert_eq!(operation(&merged, "/public", "get")["responses"]["500"]["description"], "the operation's own 500");
    for path in ["/inherited", "/explicit", "/ping"] {
        assert_eq!(
            operation(&merged, path, "get")["responses"]["500"],
            json!({"$ref": "#/components/responses/InternalError"}),
            "{path} gets the added 500"
        );
    }
}

#[test]
fn secured_and_public_selectors_follow_operation_security_over_document_security() {
    let f = security_fixture(json!([{"bearerHttpAuthentication": []}]), vec![too_many_requests(json!("public"))]);
    let (merged, _) = f.ok();
    let public = operation(&merged, "/public", "get");
    assert_eq!(public["security"], json!([]), "security: [] is kept");
    assert!(!statuses(public).contains(&"401".into()), "a public operation gets no 401");
    assert!(statuses(public).contains(&"429".into()), "a public operation gets the public addition");
    for path in ["/inherited", "/explicit", "/ping"] {
        let op = operation(&merged, path, "get");
        assert!(statuses(op).contains(&"401".into()), "{path} is secured and gets 401");
        assert!(!statuses(op).contains(&"429".into()), "{path} is secured and gets no public addition");
    }
}

#[test]
fn without_document_security_only_operations_with_their_own_security_are_secured() {
    let f = security_fixture(json!([]), vec![too_many_requests(json!("public"))]);
    let (merged, _) = f.ok();
    let explicit = operation(&merged, "/explicit", "get");
    assert!(statuses(explicit).contains(&"401".into()));
    assert!(!statuses(explicit).contains(&"429".into()));
    for path in ["/public", "/inherited", "/ping"] {
        let op = operation(&merged, path, "get");
        assert!(!statuses(op).contains(&"401".into()), "{path} is public without document security");
        assert!(statuses(op).contains(&"429".into()), "{path} is public without document security");
    }
}

#[test]
fn a_response_addition_listing_operation_ids_applies_to_those_only() {
    let f = security_fixture(
        json!([{"bearerHttpAuthentication": []}]),
        vec![too_many_requests(json!(["inheritedOp", "ping"]))],
    );
    let (merged, _) = f.ok();
    assert!(statuses(operation(&merged, "/inherited", "get")).contains(&"429".into()));
    assert!(statuses(operation(&merged, "/ping", "get")).contains(&"429".into()));
    assert!(!statuses(operation(&merged, "/public", "get")).contains(&"429".into()));
    assert!(!statuses(operation(&merged, "/explicit", "get")).contains(&"429".into()));
}

#[test]
fn an_unknown_operation_id_in_a_selector_is_an_error() {
    let f = security_fixture(
        json!([{"bearerHttpAuthentication": []}]),
        vec![too_many_requests(json!(["inheritedOp", "noSuchOp"]))],
    );
    f.rejects(&["unknown operationId noSuchOp"]);
}

#[test]
fn an_unknown_selector_kind_is_an_error() {
    let f = security_fixture(json!([{"bearerHttpAuthentication": []}]), vec![too_many_requests(json!("anonymous"))]);
    f.rejects(&["anonymous"]);
}

// ---- additions -------------------------------------------------------------------------------

fn with_additions(additions: Value) -> Fixture {
    let mut s = settings(files(&["base.yaml"]));
    s["additions"] = additions;
    Fixture::new(&s, &[("base.yaml", &base_doc())])
}

#[test]
fn an_addition_that_would_overwrite_a_value_is_an_error() {
    let f = with_additions(json!([
        {"why": "test", "at": "/components/schemas/Error/properties/message", "value": {"type": "integer"}}
    ]));
    f.rejects(&["/components/schemas/Error/properties/message", "overwrite"]);
}

#[test]
fn an_addition_that_would_overwrite_an_added_response_is_an_error() {
    // The 500 added by response_additions is part of the contract by then, too.
    let f = with_additions(json!([
        {"why": "test", "at": "/paths/~1ping/get/responses/500", "value": {"description": "other"}}
    ]));
    f.rejects(&["/paths/~1ping/get/responses/500", "overwrite"]);
}

#[test]
fn an_addition_under_a_missing_parent_is_an_error() {
    let f = with_additions(json!([
        {"why": "test", "at": "/components/schemas/Nope/properties/x", "value": {"type": "string"}}
    ]));
    f.rejects(&["/components/schemas/Nope/properties", "does not exist"]);
}

#[test]
fn an_addition_appends_to_an_array_with_dash_and_adds_missing_keys() {
    let f = with_additions(json!([
        {"why": "test", "at": "/components/schemas/Error/properties/code/enum/-", "value": "conflict"},
        {"why": "test", "at": "/components/schemas/Error/properties/message/maxLength", "value": 500}
    ]));
    let (merged, api) = f.ok();
    let codes = merged.pointer("/components/schemas/Error/properties/code/enum").unwrap().as_array().unwrap();
    assert_eq!(codes.len(), 7);
    assert_eq!(codes.last(), Some(&json!("conflict")));
    assert_eq!(codes[0], "validation", "existing values stay in place");
    assert_eq!(merged.pointer("/components/schemas/Error/properties/message/maxLength"), Some(&json!(500)));
    assert!(api.contains("#[oai(rename = \"conflict\")]"), "the added enum value is rendered");
}

#[test]
fn an_addition_to_an_array_other_than_by_dash_is_an_error() {
    let f = with_additions(json!([
        {"why": "test", "at": "/components/schemas/Error/properties/code/enum/0", "value": "conflict"}
    ]));
    f.rejects(&["/components/schemas/Error/properties/code/enum/0"]);
}

#[test]
fn an_addition_without_a_why_is_an_error() {
    let f = with_additions(json!([
        {"why": " ", "at": "/components/schemas/Error/properties/message/maxLength", "value": 500}
    ]));
    f.rejects(&["additions[0]", "why"]);
}

// ---- overrides -------------------------------------------------------------------------------

/// A document whose `getThing` answers 400 in the list envelope and 404 in the single one (as
/// seed 003 does), with `overrides` in the settings.
fn override_fixture(overrides: Value) -> Fixture {
    let a = doc(
        json!({"/things": {"get": op("getThing", json!({
            "200": {"description": "ok", "content": {"application/json": {"schema": schema_ref("Thing")}}},
            "400": {"description": "bad", "content": {"application/json": {"schema": schema_ref("Errors")}}},
            "404": {"description": "no such thing", "content": {"application/json": {"schema": schema_ref("Error")}}}
        }))}}),
        json!({"Thing": {
            "type": "object",
            "required": ["id", "legacy", "name"],
            "properties": {"id": {"type": "string"}, "legacy": {"type": "integer"}, "name": {"type": "string"}}
        }}),
    );
    let mut s = settings(files(&["base.yaml", "a.yaml"]));
    s["overrides"] = overrides;
    Fixture::new(&s, &[("base.yaml", &base_doc()), ("a.yaml", &a)])
}

const THING_404_SCHEMA: &str = "/paths/~1things/get/responses/404/content/application~1json/schema/$ref";

#[test]
fn an_override_replaces_the_value_it_expects() {
    let (merged, api) = override_fixture(json!([
        {"why": "one error body per operation", "at": THING_404_SCHEMA,
         "expect": "#/components/schemas/Error", "value": "#/components/schemas/Errors"}
    ]))
    .ok();
    assert_eq!(merged.pointer(THING_404_SCHEMA), Some(&json!("#/components/schemas/Errors")));
    let not_found = &operation(&merged, "/things", "get")["responses"]["404"];
    assert_eq!(not_found["description"], "no such thing", "the rest of the response is kept");
    // The runtime follows the contract: the 404 is answered in the list envelope.
    assert!(api.contains("(404, EnvelopeKind::List)"), "the operation's 404 is a list envelope:\n{api}");
    assert!(!api.contains("(404, EnvelopeKind::Single)"), "{api}");
}

#[test]
fn an_override_may_replace_a_whole_object_and_remove_a_key() {
    let (merged, _) = override_fixture(json!([
        {"why": "test", "at": "/paths/~1things/get/responses/400",
         "expect": {"description": "bad", "content": {"application/json": {"schema": schema_ref("Errors")}}},
         "value": {"description": "bad request", "content": {"application/json": {"schema": schema_ref("Errors")}}}},
        {"why": "test", "at": "/components/schemas/Thing/properties/legacy",
         "expect": {"type": "integer"}, "remove": true},
        {"why": "test", "at": "/components/schemas/Thing/required/1", "expect": "legacy", "remove": true}
    ]))
    .ok();
    assert_eq!(operation(&merged, "/things", "get")["responses"]["400"]["description"], "bad request");
    let thing = &merged["components"]["schemas"]["Thing"];
    assert!(thing.pointer("/properties/legacy").is_none(), "removed: {thing}");
    assert_eq!(thing["required"], json!(["id", "name"]), "the array item is removed");
}

#[test]
fn an_override_whose_expect_differs_from_the_documents_is_an_error_naming_the_pointer() {
    // As if the seed had changed its 404 since the override was written.
    let f = override_fixture(json!([
        {"why": "one error body per operation", "at": THING_404_SCHEMA,
         "expect": "#/components/schemas/NotFoundError", "value": "#/components/schemas/Errors"}
    ]));
    f.rejects(&[THING_404_SCHEMA, "expected \"#/components/schemas/NotFoundError\"", "\"#/components/schemas/Error\""]);
}

#[test]
fn an_override_at_a_missing_pointer_is_an_error() {
    let f = override_fixture(json!([
        {"why": "test", "at": "/paths/~1things/get/responses/409",
         "expect": {"description": "conflict"}, "value": {"description": "conflict!"}}
    ]));
    f.rejects(&["/paths/~1things/get/responses/409", "nothing there"]);
}

#[test]
fn an_override_cannot_reach_what_response_additions_add() {
    // Overrides apply to what the documents say, before response_additions: the 500 the settings
    // add is not there yet.
    let f = override_fixture(json!([
        {"why": "test", "at": "/paths/~1things/get/responses/500",
         "expect": {"$ref": "#/components/responses/InternalError"}, "value": {"description": "other"}}
    ]));
    f.rejects(&["/paths/~1things/get/responses/500", "nothing there"]);
}

#[test]
fn an_override_without_a_why_is_an_error() {
    let missing = override_fixture(json!([
        {"at": THING_404_SCHEMA, "expect": "#/components/schemas/Error", "value": "#/components/schemas/Errors"}
    ]));
    missing.rejects(&["overrides[0]", "why"]);
    let blank = override_fixture(json!([
        {"why": "  ", "at": THING_404_SCHEMA, "expect": "#/components/schemas/Error", "value": "#/components/schemas/Errors"}
    ]));
    blank.rejects(&["overrides[0]", THING_404_SCHEMA, "needs a `why`"]);
}

#[test]
fn an_override_without_an_expect_is_an_error() {
    let f = override_fixture(json!([
        {"why": "test", "at": THING_404_SCHEMA, "value": "#/components/schemas/Errors"}
    ]));
    f.rejects(&["overrides[0]", "expect"]);
}

#[test]
fn an_override_needs_exactly_one_of_value_and_remove() {
    override_fixture(json!([
        {"why": "test", "at": THING_404_SCHEMA, "expect": "#/components/schemas/Error"}
    ]))
    .rejects(&[THING_404_SCHEMA, "needs a `value`"]);
    override_fixture(json!([
        {"why": "test", "at": THING_404_SCHEMA, "expect": "#/components/schemas/Error",
         "value": "#/components/schemas/Errors", "remove": true}
    ]))
    .rejects(&[THING_404_SCHEMA, "not both"]);
}

#[test]
fn the_same_pointer_overridden_twice_is_an_error() {
    let entry = json!({"why": "test", "at": THING_404_SCHEMA,
        "expect": "#/components/schemas/Error", "value": "#/components/schemas/Errors"});
    override_fixture(json!([entry.clone(), entry])).rejects(&[THING_404_SCHEMA, "twice"]);
}

// ---- required properties ---------------------------------------------------------------------

fn order_fixture(additions: Value) -> Fixture {
    // Like the seed's BookingOrder: `status` is required but never defined.
    let a = doc(
        json!({"/orders": {"get": op("getOrder", ok_with(schema_ref("Order")))}}),
        json!({"Order": {"type": "object", "required": ["id", "status"], "properties": {"id": {"type": "string"}}}}),
    );
    let mut s = settings(files(&["base.yaml", "a.yaml"]));
    s["additions"] = additions;
    Fixture::new(&s, &[("base.yaml", &base_doc()), ("a.yaml", &a)])
}

#[test]
fn an_object_requiring_a_property_it_never_defines_is_an_error() {
    order_fixture(json!([])).rejects(&["Order", "`status` is required but never defined"]);
}

#[test]
fn defining_the_missing_required_property_by_an_addition_builds() {
    let (merged, api) = order_fixture(json!([
        {"why": "status is required", "at": "/components/schemas/Order/properties/status",
         "value": {"type": "string", "enum": ["Active", "Done"]}}
    ]))
    .ok();
    assert_eq!(merged.pointer("/components/schemas/Order/required"), Some(&json!(["id", "status"])));
    assert!(api.contains("pub struct Order {"));
    assert!(api.contains("pub status: OrderStatus,"), "status is a required field:\n{api}");
}

#[test]
fn an_all_of_requiring_a_property_no_part_defines_is_an_error() {
    let a = doc(
        json!({"/things": {"get": op("getThing", ok_with(schema_ref("Thing")))}}),
        json!({
            "Base": {"type": "object", "properties": {"id": {"type": "string"}}},
            "Thing": {"allOf": [schema_ref("Base"), {"type": "object", "required": ["id", "name"]}]}
        }),
    );
    let f = Fixture::new(&settings(files(&["base.yaml", "a.yaml"])), &[("base.yaml", &base_doc()), ("a.yaml", &a)]);
    f.rejects(&["Thing", "`name` is required but never defined"]);
}

// ---- models ----------------------------------------------------------------------------------

#[test]
fn free_form_and_map_components_are_values_not_models_and_keep_other_models_names() {
    // A component that is an object without properties gets no model of its own, so references
    // to it must not name one (and must not take over another model's wire name).
    let a = doc(
        json!({"/a": {"get": op("getA", ok_with(schema_ref("Holder")))}}),
        json!({
            "Holder": {"type": "object", "properties": {"meta": schema_ref("Meta"), "counts": schema_ref("Counts")}},
            "Meta": {"type": "object", "description": "anything"},
            "Counts": {"type": "object", "additionalProperties": {"type": "integer"}}
        }),
    );
    let f = Fixture::new(&settings(files(&["base.yaml", "a.yaml"])), &[("base.yaml", &base_doc()), ("a.yaml", &a)]);
    let (_, api) = f.ok();
    assert!(api.contains("#[oai(rename = \"Holder\")]\npub struct Holder {"), "Holder keeps its wire name:\n{api}");
    assert!(api.contains("pub meta: Option<serde_json::Value>,"), "{api}");
    assert!(api.contains("pub counts: Option<std::collections::BTreeMap<String, i64>>,"), "{api}");
    assert!(!api.contains("Option<Meta>") && !api.contains("Option<Counts>"), "no undefined model types");
}
