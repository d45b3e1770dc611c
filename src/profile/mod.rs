//! Stage 1, the profile: the TOML text as the user wrote it, read into typed
//! values that remember where they came from. Only types are checked here
//! (and unknown keys); meaning is checked by the plan.

pub mod init;
pub mod keys;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::diag::{Diagnostic, Rule, closest};
use keys::{Dflt, KEYS, Key, RETIRED, Ty};

/// A value and the span of profile text it came from (`None`: a default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Option<Range<usize>>,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Option<Range<usize>>) -> Self {
        Sp { value, span }
    }
    pub fn default(value: T) -> Self {
        Sp { value, span: None }
    }
}

/// A typed profile value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Sp<String>>),
    Map(BTreeMap<String, Sp<String>>),
}

/// A profile: the keys the user set, each typed and with its span.
#[derive(Debug, Clone)]
pub struct Profile {
    /// File name shown in messages and in the generated headers.
    pub name: String,
    pub text: String,
    set: BTreeMap<&'static str, Sp<Val>>,
    /// Keys the user set with a value of the wrong type: they read as their
    /// defaults, and the plan keeps quiet about them (the type error is what
    /// the user needs to see, not a consequence of the default).
    poisoned: BTreeSet<&'static str>,
}

impl Profile {
    /// Reads a profile. Every type error and unknown key is reported at once.
    pub fn parse(name: &str, text: &str) -> Result<Profile, Vec<Diagnostic>> {
        let (profile, errors) = Self::parse_partial(name, text)?;
        if errors.is_empty() { Ok(profile) } else { Err(errors) }
    }

    /// Reads a profile as far as it can: `Err` only for TOML syntax errors
    /// (all of them, in text order); otherwise the profile without its
    /// mistyped keys, and the type and unknown-key errors, so that the plan
    /// can report its own findings about the rest in the same run.
    pub fn parse_partial(name: &str, text: &str) -> Result<(Profile, Vec<Diagnostic>), Vec<Diagnostic>> {
        let (table, syntax) = DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            let mut errors: Vec<Diagnostic> = syntax
                .iter()
                .map(|e| {
                    let msg = e.message().trim().trim_end_matches('.').to_string();
                    Diagnostic::error(Rule::Syntax, "", e.span(), format!("TOML syntax error: {msg}"))
                })
                .collect();
            errors.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
            // After a mistake the parser resynchronises at the next line;
            // what it says about the rest of the same line is an echo of the
            // first error, not a second mistake.
            let mut lines = BTreeSet::new();
            errors.retain(|d| {
                lines.insert(
                    d.span
                        .as_ref()
                        .map(|s| text.as_bytes()[..s.start.min(text.len())].iter().filter(|b| **b == b'\n').count()),
                )
            });
            return Err(errors);
        }
        let mut errors = Vec::new();
        let mut set = BTreeMap::new();
        let mut poisoned = BTreeSet::new();
        let mut entries: Vec<_> = table.get_ref().iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (k, v) in entries {
            let name = k.get_ref().as_ref();
            let kspan = k.span();
            if let Some((_, why)) = RETIRED.iter().find(|(r, _)| *r == name) {
                errors.push(Diagnostic::error(
                    Rule::Unknown,
                    name,
                    Some(kspan),
                    format!("this key is not supported: {why}"),
                ));
                continue;
            }
            let Some(key) = keys::find(name) else {
                let mut d = Diagnostic::error(Rule::Unknown, key_path("", name), Some(kspan), "unknown key");
                d = match closest(name, KEYS.iter().map(|k| k.name)) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help("see README.md (the profile reference) or `redis-gen init` for every key"),
                };
                errors.push(d);
                continue;
            };
            match read_value(key, v.get_ref(), v.span()) {
                Ok(val) => {
                    set.insert(key.name, Sp::new(val, Some(v.span())));
                }
                Err(mut ds) => {
                    poisoned.insert(key.name);
                    errors.append(&mut ds);
                }
            }
        }
        Ok((Profile { name: name.to_string(), text: text.to_string(), set, poisoned }, errors))
    }

    /// Whether the user gave this key a value of the wrong type.
    pub fn is_poisoned(&self, name: &str) -> bool {
        self.poisoned.contains(name)
    }

    /// Whether the user set this key.
    pub fn is_set(&self, name: &str) -> bool {
        self.set.contains_key(name)
    }

    fn get(&self, name: &'static str) -> Option<&Sp<Val>> {
        debug_assert!(keys::find(name).is_some(), "unknown key {name}");
        self.set.get(name)
    }

    fn key(name: &str) -> &'static Key {
        keys::find(name).unwrap_or_else(|| panic!("no such key {name}"))
    }

    /// A string key; `None` when unset and its default is derived.
    pub fn str_opt(&self, name: &'static str) -> Option<Sp<String>> {
        match self.get(name) {
            Some(Sp { value: Val::Str(s), span }) => Some(Sp::new(s.clone(), span.clone())),
            _ => match Self::key(name).default {
                Dflt::Str(s) => Some(Sp::default(s.to_string())),
                _ => None,
            },
        }
    }

    pub fn str(&self, name: &'static str) -> Sp<String> {
        self.str_opt(name).unwrap_or_else(|| panic!("{name} has no fixed default"))
    }

    pub fn int(&self, name: &'static str) -> Sp<i64> {
        match (self.get(name), Self::key(name).default) {
            (Some(Sp { value: Val::Int(i), span }), _) => Sp::new(*i, span.clone()),
            (_, Dflt::Int(i)) => Sp::default(i),
            _ => panic!("{name} is not an integer key"),
        }
    }

    pub fn bool(&self, name: &'static str) -> Sp<bool> {
        match (self.get(name), Self::key(name).default) {
            (Some(Sp { value: Val::Bool(b), span }), _) => Sp::new(*b, span.clone()),
            (_, Dflt::Bool(b)) => Sp::default(b),
            _ => panic!("{name} is not a boolean key"),
        }
    }

    pub fn list(&self, name: &'static str) -> Sp<Vec<Sp<String>>> {
        match (self.get(name), Self::key(name).default) {
            (Some(Sp { value: Val::List(l), span }), _) => Sp::new(l.clone(), span.clone()),
            (_, Dflt::List(l)) => Sp::default(l.iter().map(|s| Sp::default(s.to_string())).collect()),
            _ => panic!("{name} is not a list key"),
        }
    }

    pub fn map(&self, name: &'static str) -> BTreeMap<String, Sp<String>> {
        match self.get(name) {
            Some(Sp { value: Val::Map(m), .. }) => m.clone(),
            _ => BTreeMap::new(),
        }
    }
}

fn found(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn type_error(key: &str, want: Ty, v: &DeValue<'_>, span: Range<usize>) -> Diagnostic {
    Diagnostic::error(Rule::Type, key, Some(span), format!("expected {}, found {}", want.describe(), found(v)))
}

/// A key path as the messages show it: `labels.team`, or `labels."a.b"`
/// when the key is not a bare TOML key (escaped, so it stays one line).
pub fn key_path(parent: &str, key: &str) -> String {
    let bare = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare { key.to_string() } else { format!("\"{}\"", key.escape_default()) };
    if parent.is_empty() { key } else { format!("{parent}.{key}") }
}

fn read_value(key: &Key, v: &DeValue<'_>, span: Range<usize>) -> Result<Val, Vec<Diagnostic>> {
    let name = key.name;
    match (key.ty, v) {
        (Ty::Str, DeValue::String(s)) => Ok(Val::Str(s.to_string())),
        (Ty::Int, DeValue::Integer(i)) => {
            i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).map(Val::Int).map_err(|_| {
                vec![Diagnostic::error(
                    Rule::Type,
                    name,
                    Some(span),
                    "integer out of range; expected a 64-bit signed integer",
                )]
            })
        }
        (Ty::Bool, DeValue::Boolean(b)) => Ok(Val::Bool(*b)),
        (Ty::StrList, DeValue::Array(items)) => {
            let mut out = Vec::new();
            let mut errors = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.get_ref() {
                    DeValue::String(s) => out.push(Sp::new(s.to_string(), Some(item.span()))),
                    other => errors.push(Diagnostic::error(
                        Rule::Type,
                        format!("{name}[{i}]"),
                        Some(item.span()),
                        format!("expected a string, found {}", found(other)),
                    )),
                }
            }
            if errors.is_empty() { Ok(Val::List(out)) } else { Err(errors) }
        }
        (Ty::StrMap, DeValue::Table(t)) => read_map(name, t),
        (want, other) => Err(vec![type_error(name, want, other, span)]),
    }
}

fn read_map(name: &str, t: &DeTable<'_>) -> Result<Val, Vec<Diagnostic>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    let mut entries: Vec<_> = t.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (k, v) in entries {
        match v.get_ref() {
            DeValue::String(s) => {
                // The key's span is kept: map keys are validated as label names.
                out.insert(k.get_ref().to_string(), Sp::new(s.to_string(), Some(k.span().start..v.span().end)));
            }
            other => errors.push(Diagnostic::error(
                Rule::Type,
                key_path(name, k.get_ref()),
                Some(v.span()),
                format!("expected a string, found {}", found(other)),
            )),
        }
    }
    if errors.is_empty() { Ok(Val::Map(out)) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::line_col;

    fn err(text: &str) -> Vec<Diagnostic> {
        Profile::parse("t.toml", text).expect_err("should fail")
    }

    #[test]
    fn empty_profile_takes_every_default() {
        let p = Profile::parse("t.toml", "").unwrap();
        assert_eq!(p.str("release_name").value, "redis-shared");
        assert_eq!(p.int("replica_count").value, 1);
        assert_eq!(p.list("replica_namespaces").value[0].value, "beersystem");
        assert!(p.bool("enable_metrics").value);
        assert!(p.str_opt("replica_memory_limit").is_none());
    }

    #[test]
    fn seed_module_example_is_a_valid_profile() {
        let text = "  release_name       = \"redis-shared\"\n  namespace          = \"redis\"\n  replica_namespaces = [\"beersystem\", \"other-app\"]\n\n  # MetalLB LoadBalancer\n  loadbalancer_ip = \"192.168.4.203\"\n";
        let p = Profile::parse("t.toml", text).unwrap();
        assert_eq!(p.list("replica_namespaces").value.len(), 2);
    }

    #[test]
    fn unknown_key_is_reported_with_position_and_suggestion() {
        let text = "namespace = \"redis\"\nreplica_cuont = 2\n";
        let e = err(text);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].key, "replica_cuont");
        assert_eq!(line_col(text, e[0].span.clone().unwrap().start), (2, 1));
        assert_eq!(e[0].help.as_deref(), Some("did you mean `replica_count`?"));
    }

    #[test]
    fn wrong_types_are_all_reported() {
        let text = "replica_count = \"two\"\nenable_metrics = 1\nreplica_namespaces = [\"a\", 3]\n";
        let e = err(text);
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0].message, "expected an integer, found a string");
        assert_eq!(e[1].key, "enable_metrics");
        assert_eq!(e[2].key, "replica_namespaces[1]");
        assert_eq!(line_col(text, e[2].span.clone().unwrap().start), (3, 28));
    }

    #[test]
    fn chart_version_is_refused_with_what_to_set_instead() {
        let e = err("chart_version = \"23.2.12\"\n");
        assert_eq!(e[0].key, "chart_version");
        assert!(e[0].message.contains("redis_image"), "{}", e[0].message);
    }

    #[test]
    fn syntax_errors_point_at_the_spot() {
        let text = "namespace = \"redis\"\nreplica_count = = 2\n";
        let e = err(text);
        assert!(e[0].message.starts_with("TOML syntax error"), "{}", e[0].message);
        assert_eq!(line_col(text, e[0].span.clone().unwrap().start).0, 2);
    }
}
