//! The JSON Schema of a profile (draft-07, what taplo and Even Better TOML
//! read best), generated from the key table: every key with its type,
//! default, meaning, accepted values and bounds; any other key is refused.
//! The schema checks types and fixed sets only: the plan's checks (names,
//! quantities, CIDRs, ...) are `redis-gen validate`'s.

use serde_json::{Map, Value, json};

use crate::VERSION;
use crate::profile::keys::{Dflt, KEYS, Key, RETIRED, Ty};

pub const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// The schema, as a JSON value (properties sorted by name).
pub fn schema() -> Value {
    let mut properties = Map::new();
    for k in KEYS {
        properties.insert(k.name.to_string(), property(k));
    }
    for (name, why) in RETIRED {
        // `not: {}` refuses any value; the description says what to do instead.
        properties.insert(name.to_string(), json!({ "description": why, "not": {} }));
    }
    json!({
        "$schema": DRAFT,
        "title": "redis-gen profile",
        "description": format!("A redis-gen {VERSION} profile: one Redis release, compiled by `redis-gen build` into Kubernetes manifests. Every key is optional; an absent key takes its default."),
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
    })
}

fn property(k: &Key) -> Value {
    let mut p = Map::new();
    let ty = match k.ty {
        Ty::Str => "string",
        Ty::Int => "integer",
        Ty::Bool => "boolean",
        Ty::StrList => "array",
        Ty::StrMap => "object",
    };
    p.insert("type".into(), ty.into());
    match k.ty {
        Ty::StrList => {
            p.insert("items".into(), json!({ "type": "string" }));
        }
        Ty::StrMap => {
            p.insert("additionalProperties".into(), json!({ "type": "string" }));
        }
        _ => {}
    }
    let mut description = k.doc.to_string();
    match k.default {
        Dflt::Str(s) => {
            p.insert("default".into(), s.into());
        }
        Dflt::Int(i) => {
            p.insert("default".into(), i.into());
        }
        Dflt::Bool(b) => {
            p.insert("default".into(), b.into());
        }
        Dflt::List(l) => {
            p.insert("default".into(), l.into());
        }
        Dflt::EmptyMap => {
            p.insert("default".into(), json!({}));
        }
        Dflt::Derived(from) => description.push_str(&format!(" Default: the value of `{from}`.")),
    }
    p.insert("description".into(), description.into());
    if !k.choices.is_empty() {
        p.insert("enum".into(), k.choices.into());
    }
    if let Some((min, max)) = k.range {
        p.insert("minimum".into(), min.into());
        p.insert("maximum".into(), max.into());
    }
    Value::Object(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;

    fn errors_on(key: &str, line: &str) -> Vec<String> {
        match compile("t.toml", &format!("{line}\n"), None) {
            Ok(_) => vec![],
            Err(e) => e.into_iter().filter(|d| d.key == key).map(|d| d.message).collect(),
        }
    }

    #[test]
    fn every_key_is_a_property_and_nothing_else_is_allowed() {
        let s = schema();
        assert_eq!(s["$schema"], DRAFT);
        assert_eq!(s["additionalProperties"], false);
        let props = s["properties"].as_object().unwrap();
        assert_eq!(props.len(), KEYS.len() + RETIRED.len());
        for k in KEYS {
            let p = &props[k.name];
            assert_eq!(p["description"].as_str().unwrap().split(" Default:").next().unwrap(), k.doc);
            assert!(p["default"].is_null() == matches!(k.default, Dflt::Derived(_)), "{}", k.name);
        }
        assert_eq!(props["replica_count"]["type"], "integer");
        assert_eq!(props["replica_namespaces"]["items"]["type"], "string");
        assert_eq!(props["labels"]["additionalProperties"]["type"], "string");
    }

    #[test]
    fn enums_are_exactly_what_the_plan_accepts() {
        let with_choices: Vec<_> = KEYS.iter().filter(|k| !k.choices.is_empty()).collect();
        assert!(with_choices.len() >= 3);
        for k in with_choices {
            for c in k.choices {
                assert_eq!(errors_on(k.name, &format!("{} = \"{c}\"", k.name)), Vec::<String>::new(), "{}", k.name);
            }
            let refused = errors_on(k.name, &format!("{} = \"not-a-choice\"", k.name));
            let listed = refused[0].split("expected one of: ").nth(1).expect("the plan lists what it accepts");
            assert_eq!(listed, k.choices.join(", "), "{}: the key table and the plan disagree", k.name);
        }
    }

    #[test]
    fn bounds_are_exactly_what_the_plan_accepts() {
        let with_range: Vec<_> = KEYS.iter().filter_map(|k| k.range.map(|r| (k, r))).collect();
        assert!(with_range.len() >= 3);
        for (k, (min, max)) in with_range {
            for ok in [min, max] {
                assert!(errors_on(k.name, &format!("{} = {ok}", k.name)).is_empty(), "{} = {ok}", k.name);
            }
            for bad in [min - 1, max + 1] {
                assert!(!errors_on(k.name, &format!("{} = {bad}", k.name)).is_empty(), "{} = {bad}", k.name);
            }
        }
    }
}
