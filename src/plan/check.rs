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
use crate::diag::Diagnostic;
use crate::profile::{Profile, Sp, key_path};

/// Collects every validation error instead of stopping at the first.
pub struct Checker<'p> {
    pub p: &'p Profile,
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

    pub fn err(&mut self, key: &str, span: Option<Range<usize>>, msg: impl Into<String>) {
        if !self.poisoned(&[key]) {
            self.errors.push(Diagnostic::new(key, span, msg));
        }
    }

    /// Whether any of these keys (or key paths) had a type error: such a key
    /// reads as its default, and a finding about that default would only
    /// confuse, so checks that involve it keep quiet.
    pub fn poisoned(&self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.p.is_poisoned(k.split(['[', '.']).next().unwrap_or(k)))
    }

    /// A string key that must be non-empty and free of control characters;
    /// the flag says whether it is, so that further checks of a value
    /// already refused stay quiet (one mistake, one message).
    pub fn text(&mut self, key: &'static str) -> (Sp<String>, bool) {
        let v = self.p.str(key);
        let ok = self.check_text(key, &v);
        (v, ok)
    }

    pub fn check_text(&mut self, key: &str, v: &Sp<String>) -> bool {
        if v.span.is_none() {
            // A default: either a fixed, valid one, or derived from another
            // key, which is checked (and reported) where the user wrote it.
            return !v.value.is_empty() && !v.value.chars().any(crate::diag::is_unsafe);
        }
        if v.value.is_empty() {
            self.err(key, v.span.clone(), "must not be empty");
            false
        } else if let Some(c) = v.value.chars().find(|c| crate::diag::is_unsafe(*c)) {
            self.err(
                key,
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
    pub fn dns_label(&mut self, key: &str, v: &Sp<String>, max: usize, why: &str) -> bool {
        if !self.check_text(key, v) {
            return false;
        }
        if v.span.is_none() {
            // A default: valid, or derived from a key checked where it was written.
            return dns1123_label(&v.value, max).is_ok();
        }
        if let Err(problem) = dns1123_label(&v.value, max) {
            let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
            self.err(key, v.span.clone(), format!("{problem}: `{}` is not a valid name; use lower-case letters, digits and '-', starting and ending with a letter or digit, at most {max} characters{why}", v.value));
            return false;
        }
        true
    }

    /// A DNS-1123 subdomain: dot-separated labels, at most 253 characters
    /// (the names of Secrets, StorageClasses, ConfigMaps).
    pub fn dns_subdomain(&mut self, key: &str, v: &Sp<String>) {
        if !self.check_text(key, v) {
            return;
        }
        if let Err(problem) = dns1123_subdomain(&v.value) {
            self.err(key, v.span.clone(), format!("{problem}: `{}` is not a valid name; use lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit, at most 253 characters", v.value));
        }
    }

    pub fn quantity(&mut self, key: &'static str, v: &Sp<String>, memory: bool) -> Option<f64> {
        if !self.check_text(key, v) {
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
                self.err(key, v.span.clone(), format!("`{}` must be greater than zero", v.value));
                None
            }
            Some(q) if !q.0.is_finite() || q.0 > MAX_QUANTITY => {
                self.err(
                    key,
                    v.span.clone(),
                    format!("`{}` is too large; Kubernetes quantities stop at 2^63-1", v.value),
                );
                None
            }
            Some(_) if memory && v.value.ends_with('m') => {
                self.err(key, v.span.clone(), format!("`{}` is in thousandths of a byte; write memory as bytes with a suffix such as `512Mi` or `2Gi`", v.value));
                None
            }
            Some(q) => Some(q.0),
            None => {
                let example = if memory { "`512Mi`, `2Gi`" } else { "`500m`, `1`, `1.5`" };
                self.err(key, v.span.clone(), format!("`{}` is not a Kubernetes quantity; expected a number with an optional suffix, such as {example}", v.value));
                None
            }
        }
    }

    /// Resolves a request/limit pair for CPU or memory of one container.
    pub fn pair(
        &mut self,
        req_key: &'static str,
        req: Sp<String>,
        lim_key: &'static str,
        lim: Sp<String>,
        memory: bool,
    ) -> (String, String) {
        let r = self.quantity(req_key, &req, memory);
        let l = self.quantity(lim_key, &lim, memory);
        if let (Some(r), Some(l)) = (r, l)
            && r > l
            && !self.poisoned(&[req_key, lim_key])
        {
            let (key, span) =
                if req.span.is_some() { (req_key, req.span.clone()) } else { (lim_key, lim.span.clone()) };
            self.err(
                key,
                span,
                format!(
                    "request `{}` ({req_key}) is above limit `{}` ({lim_key}); a request may not exceed its limit",
                    req.value, lim.value
                ),
            );
        }
        (req.value, lim.value)
    }

    /// A string key restricted to the choices its entry in the key table lists.
    pub fn one_of(&mut self, key: &'static str) -> String {
        let allowed = crate::profile::keys::find(key).map_or(&[][..], |k| k.choices);
        debug_assert!(!allowed.is_empty(), "{key} lists no choices");
        let v = self.p.str(key);
        if !allowed.contains(&v.value.as_str()) {
            self.err(
                key,
                v.span.clone(),
                format!("`{}` is not accepted; expected one of: {}", v.value, allowed.join(", ")),
            );
        }
        v.value
    }
}

impl Checker<'_> {
    /// An image reference key: printable text, then the reference grammar.
    pub fn image(&mut self, key: &'static str) -> String {
        let (image, ok) = self.text(key);
        if let (true, Err(e)) = (ok, image_reference(&image.value)) {
            self.err(key, image.span.clone(), format!("`{}`: {e}", image.value));
        }
        image.value
    }

    /// A Prometheus duration key (`30s`, `1h30m`).
    pub fn duration(&mut self, key: &'static str) -> Sp<String> {
        let v = self.p.str(key);
        if duration_ms(&v.value).is_none() {
            self.err(key, v.span.clone(), format!("`{}` is not a Prometheus duration such as `30s`, `5m` or `1h30m` (units y, w, d, h, m, s, ms, largest first, each once)", v.value));
        }
        v
    }

    /// A table of labels for an object that selects nothing (the
    /// ServiceMonitor's, the PrometheusRule's): each entry label-shaped.
    pub fn label_map(&mut self, key: &'static str) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        for (k, v) in self.p.map(key) {
            if !label_key_ok(&k) || !label_value_ok(&v.value) {
                self.err(&key_path(key, &k), v.span.clone(), format!("`{k} = \"{}\"` is not a valid label", v.value));
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
