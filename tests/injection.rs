//! No string from a profile can add a line or directive to redis.conf or a
//! script, or change the structure of the YAML. For every string field of
//! the profile (every key of type string, list of strings or table of
//! strings, in keys and values), for the profile's file name and for the
//! sealed ciphertexts, each hostile value below is either refused with an
//! error about that field (rendered on clean single lines) or rendered
//! inertly, which is proven by parsing the output:
//! - every YAML file has the same structure as a baseline build, the value
//!   appearing only inside string scalars;
//! - every file keeps its number of lines, and holds no control character;
//! - redis.conf and the role files keep their directives, line for line;
//! - the scripts are unchanged except for lines that carry the value.

use std::collections::BTreeMap;

use redis_gen::diag::{Diagnostic, is_unsafe, render};
use redis_gen::profile::keys::{KEYS, Ty};
use redis_gen::sealed::SealedData;
use redis_gen::{Compiled, compile};
use serde_norway::Value;

/// Control characters, line breaks of every flavour, comment and quote
/// characters, backslashes, YAML indicators, shell syntax; alone and in
/// combinations that would each inject something if pasted raw.
const HOSTILE: &[&str] = &[
    "\n",
    "\r",
    "\r\n",
    "\0",
    "\x01",
    "\x1b[31m",
    "\t",
    "\x7f",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{202e}",
    "\u{feff}",
    "#",
    " #x",
    "\"",
    "'",
    "\\",
    "\\n",
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a",
    "*a",
    "!a",
    "|",
    ">",
    "%",
    "@",
    "`",
    "?",
    "$(id)",
    "${IFS}",
    ";",
    " ",
    "x\nrename-command GET \"\"",
    "x\" \nport 1\n",
    "x\r\nmaxmemory 1",
    "x\ninjected: true",
    "x\n- injected",
    "x\n---\nkind: Secret",
    "x\u{2028}kind: Secret",
    "x\"; rm -rf /; \"",
    "x'\nexit 0\n'",
    "{{ release }}",
    "{% raw %}",
];

/// A valid value per string key, to which payloads are appended.
fn sample(key: &str) -> &'static str {
    match key {
        "release_name" => "redis-shared",
        "namespace" | "monitoring_namespace" => "monitoring",
        "mode" => "replication",
        "cluster_domain" => "cluster.local",
        "replica_namespaces" => "beersystem",
        "loadbalancer_ip" => "192.168.4.203",
        "loadbalancer_source_ranges" => "192.168.4.0/24",
        "secret_name" => "redis-credentials",
        "maxmemory_policy" => "noeviction",
        "appendfsync" => "everysec",
        "disabled_commands" => "FLUSHALL",
        "redis_image" => "redis:8.2",
        "exporter_image" => "oliver006/redis_exporter:v1.88.0",
        "proxy_image" => "haproxy:3.2",
        "storage_class" => "local-path",
        "service_monitor_interval" => "30s",
        "labels" | "service_monitor_labels" | "prometheus_rule_labels" => "team",
        "dashboard_namespace" => "grafana",
        "dashboard_label" => "grafana_dashboard",
        "dashboard_label_value" => "1",
        "alert_replication_lag" => "10Mi",
        "alert_restart_window" => "15m",
        k if k.starts_with("alert_") && k.ends_with("_for") => "5m",
        k if k.contains("memory") || k == "storage_size" || k == "maxmemory" => "1Gi",
        k if k.contains("cpu") => "100m",
        other => panic!("no sample for {other}: add one"),
    }
}

/// A TOML basic string holding exactly `s`.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Profiles that set `key` to a value built from `payload`.
fn profiles(key: &str, ty: Ty, payload: &str) -> Vec<String> {
    let base = sample(key);
    let values = [payload.to_string(), format!("{base}{payload}"), format!("{base}{payload}x")];
    let mut out = Vec::new();
    for v in values {
        match ty {
            Ty::Str => out.push(format!("{key} = {}\n", toml_str(&v))),
            Ty::StrList => out.push(format!("{key} = [{}]\n", toml_str(&v))),
            Ty::StrMap => {
                out.push(format!("{key} = {{ {} = \"cache\" }}\n", toml_str(&v)));
                out.push(format!("{key} = {{ team = {} }}\n", toml_str(&v)));
            }
            _ => unreachable!(),
        }
    }
    out
}

fn string_keys() -> Vec<(&'static str, Ty)> {
    KEYS.iter().filter(|k| matches!(k.ty, Ty::Str | Ty::StrList | Ty::StrMap)).map(|k| (k.name, k.ty)).collect()
}

/// A refusal must be about the field, and render as clean lines.
fn check_refusal(key: &str, text: &str, diags: &[Diagnostic]) -> Result<(), String> {
    for d in diags {
        let root = d.key.split(['[', '.']).next().unwrap_or("");
        if root != key {
            return Err(format!("diagnostic about `{}`, not `{key}`: {}", d.key, d.message));
        }
        let shown = render("p.toml", text, d, "error");
        if let Some(c) = shown.chars().find(|c| is_unsafe(*c) && *c != '\n') {
            return Err(format!("the message holds {c:?}: {shown:?}"));
        }
        for line in shown.lines() {
            let t = line.trim_start();
            let known = line.starts_with("error: p.toml:")
                || t.starts_with("= help: ")
                || t.starts_with("| ")
                || t.split_once(" | ").is_some_and(|(n, _)| n.parse::<usize>().is_ok());
            if !known {
                return Err(format!("a forged line {line:?} in {shown:?}"));
            }
        }
    }
    if diags.is_empty() { Err("an error without a diagnostic".into()) } else { Ok(()) }
}

/// Same tree, up to the string scalars that carry the value.
fn same_shape(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Mapping(x), Value::Mapping(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            if kx != ky {
                return Err(format!("{path}: keys {kx:?} became {ky:?}"));
            }
            for (k, v) in x {
                same_shape(v, &y[k], &format!("{path}.{}", k.as_str().unwrap_or("?")))?;
            }
            Ok(())
        }
        (Value::Sequence(x), Value::Sequence(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: {} items became {}", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().try_for_each(|(i, (u, v))| same_shape(u, v, &format!("{path}[{i}]")))
        }
        (Value::String(_), Value::String(_)) => Ok(()),
        (x, y) if x == y => Ok(()),
        (x, y) => Err(format!("{path}: {x:?} became {y:?}")),
    }
}

/// Directive names of a redis.conf text, in order.
fn directives(conf: &str) -> Vec<&str> {
    conf.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect()
}

/// Checks that `hostile` is `base` with a value rendered inertly, where
/// `shown` is how the value may appear (as written, or escaped).
fn check_inert(base: &Compiled, hostile: &Compiled, shown: &[&str]) -> Result<(), String> {
    let paths = |c: &Compiled| c.bundle.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
    if paths(base) != paths(hostile) {
        return Err(format!("files {:?} became {:?}", paths(base), paths(hostile)));
    }
    // The pods' checksum annotations follow the ConfigMap, which may carry the value.
    let carries = |line: &str| {
        shown.iter().any(|s| !s.is_empty() && line.contains(s)) || line.trim_start().starts_with("checksum/")
    };
    for (b, h) in base.bundle.files.iter().zip(&hostile.bundle.files) {
        let bt = std::str::from_utf8(&b.contents).unwrap();
        let ht = std::str::from_utf8(&h.contents).map_err(|_| format!("{} is not UTF-8", h.path))?;
        if let Some(c) = ht.chars().find(|c| is_unsafe(*c) && *c != '\n') {
            return Err(format!("{} holds {c:?}", h.path));
        }
        if bt.lines().count() != ht.lines().count() {
            return Err(format!("{}: {} lines became {}", h.path, bt.lines().count(), ht.lines().count()));
        }
        for (lb, lh) in bt.lines().zip(ht.lines()) {
            if lb != lh && !carries(lh) {
                return Err(format!("{}: {lb:?} became {lh:?}, which does not carry the value", h.path));
            }
        }
        if h.path.ends_with(".yaml") {
            let vb: Value = serde_norway::from_str(bt).unwrap();
            let vh: Value = serde_norway::from_str(ht).map_err(|e| format!("{}: {e}", h.path))?;
            same_shape(&vb, &vh, &h.path)?;
            if let Some(data) = vh.get("data").and_then(Value::as_mapping) {
                for (name, text) in data {
                    let (name, th) = (name.as_str().unwrap(), text.as_str().unwrap_or(""));
                    let tb = vb["data"][name].as_str().unwrap_or("");
                    if tb.lines().count() != th.lines().count() {
                        return Err(format!("{name} in {}: line count changed", h.path));
                    }
                    if name.ends_with(".conf") && directives(tb) != directives(th) {
                        return Err(format!("{name}: directives {:?} became {:?}", directives(tb), directives(th)));
                    }
                    for (lb, lh) in tb.lines().zip(th.lines()) {
                        if lb != lh && !carries(lh) {
                            return Err(format!("{name}: {lb:?} became {lh:?}"));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn every_string_field_refuses_or_renders_each_hostile_value_inertly() {
    let base = compile("p.toml", "", None).expect("the empty profile compiles");
    let keys = string_keys();
    assert!(keys.len() >= 30, "only {} string keys found", keys.len());
    let (mut refused, mut accepted, mut failures) = (0, 0, Vec::new());
    for (key, ty) in &keys {
        for payload in HOSTILE {
            for text in profiles(key, *ty, payload) {
                match compile("p.toml", &text, None) {
                    Err(diags) => {
                        refused += 1;
                        if let Err(e) = check_refusal(key, &text, &diags) {
                            failures.push(format!("{text:?}: {e}"));
                        }
                    }
                    Ok(c) => {
                        accepted += 1;
                        if let Err(e) = check_inert(&base, &c, &[payload, sample(key)]) {
                            failures.push(format!("{text:?} was accepted, not inertly: {e}"));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    eprintln!("{refused} hostile profiles refused, {accepted} accepted and rendered inertly");
    assert!(refused > 1000);
}

#[test]
fn a_hostile_profile_file_name_is_rendered_inertly() {
    let text = "replica_count = 1\n";
    let base = compile("p.toml", text, None).unwrap();
    for payload in HOSTILE {
        let name = format!("p{payload}.toml");
        let c = compile(&name, text, None).expect("the file name does not make a profile invalid");
        let escaped = redis_gen::diag::escape(&name);
        // Inside the dashboard's JSON, the escaped name is JSON-escaped again.
        let in_json = serde_json::to_string(&escaped).unwrap();
        let in_json = &in_json[1..in_json.len() - 1];
        // The name is in comments, the README and the dashboard's description:
        // it may differ there only.
        if let Err(e) = check_inert(&base, &c, &[&escaped, in_json]) {
            panic!("file name {name:?}: {e}");
        }
    }
}

#[test]
fn hostile_sealed_ciphertexts_stay_plain_strings() {
    let sealed_with = |cipher: &str, extra: &str| {
        let entry = || BTreeMap::from([("redis-password".to_string(), cipher.to_string())]);
        let secrets = BTreeMap::from([
            ("redis".to_string(), entry()),
            ("beersystem".to_string(), entry()),
            (format!("gone{extra}"), entry()),
        ]);
        SealedData { secrets, secret_name: "redis-credentials".into(), ..Default::default() }
    };
    let base = compile("p.toml", "", Some(&sealed_with("AgBbenign==", ""))).unwrap();
    for payload in HOSTILE {
        let cipher = format!("AgB{payload}==");
        let sealed = sealed_with(&cipher, payload);
        let c = compile("p.toml", "", Some(&sealed)).unwrap();
        for f in c.bundle.files.iter().filter(|f| f.path.starts_with("sealedsecret-")) {
            let text = std::str::from_utf8(&f.contents).unwrap();
            let v: Value = serde_norway::from_str(text).unwrap();
            assert_eq!(v["spec"]["encryptedData"]["redis-password"].as_str(), Some(cipher.as_str()), "{payload:?}");
            let b = base.bundle.get(&f.path).unwrap();
            let vb: Value = serde_norway::from_slice(&b.contents).unwrap();
            same_shape(&vb, &v, &f.path).unwrap_or_else(|e| panic!("{payload:?}: {e}"));
        }
        // Everything but the SealedSecrets and the pods' checksum is unchanged.
        for (b, h) in base.bundle.files.iter().zip(&c.bundle.files) {
            if !h.path.starts_with("sealedsecret-") && !h.path.starts_with("statefulset-") {
                assert_eq!(b, h, "{payload:?} changed {}", h.path);
            }
        }
        for w in &c.warnings {
            let shown = redis_gen::diag::escape(w);
            assert!(!shown.chars().any(is_unsafe), "{shown:?}");
        }
    }
}

#[test]
fn the_toml_escaping_of_this_test_round_trips() {
    for payload in HOSTILE {
        let text = format!("release_name = {}\n", toml_str(payload));
        let v: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{payload:?}: {e}"));
        assert_eq!(v["release_name"].as_str(), Some(*payload));
    }
}

#[test]
fn a_hostile_profile_name_stays_in_the_sealed_file_header_comment() {
    let data = SealedData {
        secret_name: "redis-credentials".into(),
        secrets: BTreeMap::from([("redis".into(), BTreeMap::from([("redis-password".into(), "AgB=".into())]))]),
        ..Default::default()
    };
    for payload in HOSTILE {
        let text = data.to_yaml(&format!("p{payload}\nscope: cluster-wide\n.toml"));
        let back: SealedData = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{payload:?}: {e}\n{text}"));
        assert_eq!(back, data, "{payload:?}:\n{text}");
        assert_eq!(text.lines().count(), data.to_yaml("p.toml").lines().count(), "{payload:?}:\n{text}");
    }
}
