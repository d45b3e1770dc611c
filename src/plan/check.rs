//! The Checker: reads the profile's keys and collects every finding instead
//! of stopping at the first. Each check is worded once here (text, names,
//! quantities, request/limit pairs, choices, images, durations, label maps);
//! the resolvers of the sub-plans call them.

use std::collections::BTreeMap;
use std::ops::Range;

use super::quantity::Quantity;
use super::syntax::{
    MAX_QUANTITY, dns1123_label, dns1123_subdomain, duration_ms, image_reference, label_key_ok, label_value_ok,
};
use crate::diag::{Diagnostic, Rule};
use crate::profile::keys::{BoolKey, Choice, ChoiceKey, Dflt, IntKey, Key, ListKey, MapKey, StrKey};
use crate::profile::{Profile, Sp, key_path};

/// Where a finding is: a key of the table, or an element of one (its path,
/// such as `labels.team` or `disabled_commands[0]`).
pub struct At<'k> {
    key: &'k Key,
    path: Option<String>,
}

impl<'k> At<'k> {
    pub fn key(key: &'k Key) -> At<'k> {
        At { key, path: None }
    }
    /// The `i`th element of a list key.
    pub fn item(key: &'k Key, i: usize) -> At<'k> {
        At { key, path: Some(format!("{}[{i}]", key.name)) }
    }
    /// The entry `entry` of a table key.
    pub fn entry(key: &'k Key, entry: &str) -> At<'k> {
        At { key, path: Some(key_path(key.name, entry)) }
    }
    fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(self.key.name)
    }
}

/// The rule family of a finding about `key`.
fn rule_of(key: &Key) -> Rule {
    match key.name {
        "release_name"
        | "namespace"
        | "replica_namespaces"
        | "monitoring_namespace"
        | "secret_name"
        | "storage_class"
        | "cluster_domain" => Rule::Name,
        "labels" | "service_monitor_labels" | "dashboard_label" | "dashboard_label_value" => Rule::Labels,
        "loadbalancer_ip" | "loadbalancer_source_ranges" => Rule::Net,
        "port" => Rule::Port,
        "replica_count" | "sentinel_count" => Rule::Replicas,
        "redis_image" | "exporter_image" | "proxy_image" => Rule::Image,
        "maxmemory" => Rule::Maxmemory,
        k if k == "storage_size" || k.contains("_cpu_") || k.contains("_memory_") => Rule::Quantity,
        k if k.starts_with("enable_") || k.starts_with("service_monitor_") || k.starts_with("alert_") => Rule::Monitor,
        _ => Rule::Redis,
    }
}

/// Collects every validation error instead of stopping at the first.
pub struct Checker<'p> {
    p: &'p Profile,
    errors: Vec<Diagnostic>,
}

impl<'p> Checker<'p> {
    pub fn new(p: &'p Profile) -> Self {
        Checker { p, errors: Vec::new() }
    }

    /// Every error found, in the order of the profile's text (what a user
    /// reads top to bottom), whatever the order of the checks.
    pub fn finish(mut self) -> Result<(), Vec<Diagnostic>> {
        if self.errors.is_empty() {
            return Ok(());
        }
        self.errors.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
        Err(self.errors)
    }

    pub fn err(&mut self, key: &Key, span: Option<Range<usize>>, msg: impl Into<String>) {
        self.err_at(&At::key(key), span, msg);
    }

    /// A finding of the rule family of its key.
    pub fn err_at(&mut self, at: &At<'_>, span: Option<Range<usize>>, msg: impl Into<String>) {
        self.err_as(rule_of(at.key), at, span, msg);
    }

    /// A finding of a kind of its own (a quantity's syntax, a request
    /// against its limit, maxmemory against a pod's limit, an unsafe
    /// character), whatever the key.
    pub fn err_as(&mut self, rule: Rule, at: &At<'_>, span: Option<Range<usize>>, msg: impl Into<String>) {
        if !self.poisoned(&[at.key]) {
            self.errors.push(Diagnostic::error(rule, at.path(), span, msg));
        }
    }

    /// Whether any of these keys had a type error: such a key reads as its
    /// default, and a finding about that default would only confuse, so
    /// checks that involve it keep quiet.
    pub fn poisoned(&self, keys: &[&Key]) -> bool {
        keys.iter().any(|k| self.p.is_poisoned(k.name))
    }

    pub fn str(&self, key: &StrKey) -> Sp<String> {
        self.p.str(key.name)
    }

    /// A string key; `None` when unset and its default follows another key.
    pub fn str_opt(&self, key: &StrKey) -> Option<Sp<String>> {
        self.p.str_opt(key.name)
    }

    pub fn bool(&self, key: &BoolKey) -> Sp<bool> {
        self.p.bool(key.name)
    }

    pub fn list(&self, key: &ListKey) -> Sp<Vec<Sp<String>>> {
        self.p.list(key.name)
    }

    pub fn map(&self, key: &MapKey) -> BTreeMap<String, Sp<String>> {
        self.p.map(key.name)
    }

    /// Whether the user set this key.
    pub fn is_set(&self, key: &Key) -> bool {
        self.p.is_set(key.name)
    }

    /// An integer key within its bounds from the key table; `say` words the
    /// refusal from the value and the bounds.
    pub fn int(&mut self, key: &IntKey, say: impl FnOnce(i64, i64, i64) -> String) -> Sp<i64> {
        self.int_where(key, |_| true, say)
    }

    /// `int`, with one more condition the value must meet.
    pub fn int_where(
        &mut self,
        key: &IntKey,
        also: impl Fn(i64) -> bool,
        say: impl FnOnce(i64, i64, i64) -> String,
    ) -> Sp<i64> {
        let v = self.p.int(key.name);
        let (min, max) = key.bounds();
        if !(min..=max).contains(&v.value) || !also(v.value) {
            self.err(key, v.span.clone(), say(v.value, min, max));
        }
        v
    }

    /// A choice key, resolved to its enum (the default when refused).
    pub fn choice<T: Choice>(&mut self, key: &ChoiceKey<T>) -> T {
        let v = self.p.str(key.name);
        T::from_name(&v.value).unwrap_or_else(|| {
            self.err(
                key,
                v.span.clone(),
                format!("`{}` is not accepted; expected one of: {}", v.value, T::NAMES.join(", ")),
            );
            let Dflt::Str(default) = key.default else { unreachable!("a choice key has a fixed default") };
            T::from_name(default).expect("a choice key's default is one of its choices")
        })
    }

    /// A string key that must be non-empty and free of control characters;
    /// the flag says whether it is, so that further checks of a value
    /// already refused stay quiet (one mistake, one message).
    pub fn text(&mut self, key: &StrKey) -> (Sp<String>, bool) {
        let v = self.str(key);
        let ok = self.check_text(&At::key(key), &v);
        (v, ok)
    }

    pub fn check_text(&mut self, at: &At<'_>, v: &Sp<String>) -> bool {
        if v.span.is_none() {
            // A default: either a fixed, valid one, or derived from another
            // key, which is checked (and reported) where the user wrote it.
            return !v.value.is_empty() && !v.value.chars().any(crate::diag::is_unsafe);
        }
        if v.value.is_empty() {
            self.err_at(at, v.span.clone(), "must not be empty");
            false
        } else if let Some(c) = v.value.chars().find(|c| crate::diag::is_unsafe(*c)) {
            self.err_as(
                Rule::Inject,
                at,
                v.span.clone(),
                format!(
                    "contains the {} character {}; only printable text is accepted",
                    if c.is_control() { "control" } else { "invisible" },
                    c.escape_default()
                ),
            );
            false
        } else {
            true
        }
    }

    /// Whether `v` is a DNS-1123 label of at most `max` characters.
    pub fn dns_label(&mut self, at: &At<'_>, v: &Sp<String>, max: usize, why: &str) -> bool {
        if !self.check_text(at, v) {
            return false;
        }
        if v.span.is_none() {
            // A default: valid, or derived from a key checked where it was written.
            return dns1123_label(&v.value, max).is_ok();
        }
        if let Err(problem) = dns1123_label(&v.value, max) {
            let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
            self.err_at(at, v.span.clone(), format!("{problem}: `{}` is not a valid name; use lower-case letters, digits and '-', starting and ending with a letter or digit, at most {max} characters{why}", v.value));
            return false;
        }
        true
    }

    /// A DNS-1123 subdomain: dot-separated labels, at most 253 characters
    /// (the names of Secrets, StorageClasses, ConfigMaps).
    pub fn dns_subdomain(&mut self, at: &At<'_>, v: &Sp<String>) {
        if !self.check_text(at, v) {
            return;
        }
        if let Err(problem) = dns1123_subdomain(&v.value) {
            self.err_at(at, v.span.clone(), format!("{problem}: `{}` is not a valid name; use lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit, at most 253 characters", v.value));
        }
    }

    pub fn quantity(&mut self, at: &At<'_>, v: &Sp<String>, memory: bool) -> Option<f64> {
        if !self.check_text(at, v) {
            return None;
        }
        if v.span.is_none() {
            // A default derived from another key reports nothing itself.
            return Quantity::parse(&v.value)
                .map(|q| q.0)
                .filter(|q| *q > 0.0 && q.is_finite() && !(memory && v.value.ends_with('m')));
        }
        match Quantity::parse(&v.value) {
            Some(q) if q.0 <= 0.0 => {
                self.err_as(Rule::Quantity, at, v.span.clone(), format!("`{}` must be greater than zero", v.value));
                None
            }
            Some(q) if !q.0.is_finite() || q.0 > MAX_QUANTITY => {
                self.err_as(
                    Rule::Quantity,
                    at,
                    v.span.clone(),
                    format!("`{}` is too large; Kubernetes quantities stop at 2^63-1", v.value),
                );
                None
            }
            Some(_) if memory && v.value.ends_with('m') => {
                self.err_as(Rule::Quantity, at, v.span.clone(), format!("`{}` is in thousandths of a byte; write memory as bytes with a suffix such as `512Mi` or `2Gi`", v.value));
                None
            }
            Some(q) => Some(q.0),
            None => {
                let example = if memory { "`512Mi`, `2Gi`" } else { "`500m`, `1`, `1.5`" };
                self.err_as(Rule::Quantity, at, v.span.clone(), format!("`{}` is not a Kubernetes quantity; expected a number with an optional suffix, such as {example}", v.value));
                None
            }
        }
    }

    /// Resolves a request/limit pair for CPU or memory of one container.
    pub fn pair(
        &mut self,
        req_key: &Key,
        req: Sp<String>,
        lim_key: &Key,
        lim: Sp<String>,
        memory: bool,
    ) -> (String, String) {
        let r = self.quantity(&At::key(req_key), &req, memory);
        let l = self.quantity(&At::key(lim_key), &lim, memory);
        if let (Some(r), Some(l)) = (r, l)
            && r > l
            && !self.poisoned(&[req_key, lim_key])
        {
            let (key, span) =
                if req.span.is_some() { (req_key, req.span.clone()) } else { (lim_key, lim.span.clone()) };
            self.err_as(
                Rule::Resources,
                &At::key(key),
                span,
                format!(
                    "request `{}` ({}) is above limit `{}` ({}); a request may not exceed its limit",
                    req.value, req_key.name, lim.value, lim_key.name
                ),
            );
        }
        (req.value, lim.value)
    }
}

impl Checker<'_> {
    /// An image reference key: printable text, then the reference grammar.
    pub fn image(&mut self, key: &StrKey) -> String {
        let (image, ok) = self.text(key);
        if let (true, Err(e)) = (ok, image_reference(&image.value)) {
            self.err(key, image.span.clone(), format!("`{}`: {e}", image.value));
        }
        image.value
    }

    /// A Prometheus duration key (`30s`, `1h30m`).
    pub fn duration(&mut self, key: &StrKey) -> Sp<String> {
        let v = self.str(key);
        if duration_ms(&v.value).is_none() {
            self.err(key, v.span.clone(), format!("`{}` is not a Prometheus duration such as `30s`, `5m` or `1h30m` (units y, w, d, h, m, s, ms, largest first, each once)", v.value));
        }
        v
    }

    /// A table of labels for an object that selects nothing (the
    /// ServiceMonitor's, the PrometheusRule's): each entry label-shaped.
    pub fn label_map(&mut self, key: &MapKey) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        for (k, v) in self.map(key) {
            if !label_key_ok(&k) || !label_value_ok(&v.value) {
                self.err_at(
                    &At::entry(key, &k),
                    v.span.clone(),
                    format!("`{k} = \"{}\"` is not a valid label", v.value),
                );
            }
            labels.insert(k, v.value);
        }
        labels
    }
}

/// What is wrong with a label key that `label_key_ok` refuses.
pub fn bad_label_key(k: &str) -> String {
    format!(
        "`{k}` is not a valid label key (an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_', '.')"
    )
}

/// What is wrong with a label value that `label_value_ok` refuses.
pub fn bad_label_value(v: &str) -> String {
    format!(
        "`{v}` is not a valid label value (at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit)"
    )
}
