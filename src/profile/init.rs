//! The profile `redis-gen init` prints: every key of the key table, under its
//! group's heading, with its meaning and accepted values as comments and its
//! default as the value, so that the text builds as it is. A key whose
//! default follows another key is left commented out (setting it would pin
//! the value).

use crate::VERSION;
use crate::profile::keys::{Dflt, KEYS, Key, find};

/// Values `init` sets instead of the defaults.
#[derive(Debug, Clone, Default)]
pub struct Overrides<'a> {
    pub release_name: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

const WIDTH: usize = 78;

pub fn profile(o: &Overrides<'_>) -> String {
    let mut out = format!(
        "# A redis-gen profile, printed by `redis-gen init` (redis-gen {VERSION}).\n\
         # Every key is here with its default. An absent key takes its default, so\n\
         # keep only the keys you change if you prefer a short profile.\n\
         # Build it with `redis-gen build PROFILE -o out`.\n"
    );
    let mut group = "";
    for k in KEYS {
        if k.group != group {
            group = k.group;
            out.push_str(&format!("\n# ==== {group} ====\n"));
        }
        out.push('\n');
        let mut doc = k.doc.to_string();
        if !k.choices.is_empty() {
            doc.push_str(&format!(" Accepted: {}.", k.choices.join(", ")));
        }
        if let Some((min, max)) = k.range {
            doc.push_str(&format!(" Accepted: {min} to {max}."));
        }
        if let Dflt::Derived(from) = k.default {
            doc.push_str(&format!(" Default: the value of `{from}`."));
        }
        for line in wrap(&doc, WIDTH - 2) {
            out.push_str(&format!("# {line}\n"));
        }
        let value = match (k.name, o) {
            ("release_name", Overrides { release_name: Some(v), .. }) => toml_string(v),
            ("namespace", Overrides { namespace: Some(v), .. }) => toml_string(v),
            _ => default_value(k),
        };
        let comment = if matches!(k.default, Dflt::Derived(_)) { "# " } else { "" };
        out.push_str(&format!("{comment}{} = {value}\n", k.name));
    }
    out
}

/// The default as TOML; a derived default shows the value it derives from.
fn default_value(k: &Key) -> String {
    match k.default {
        Dflt::Str(s) => toml_string(s),
        Dflt::Int(i) => i.to_string(),
        Dflt::Bool(b) => b.to_string(),
        Dflt::List(l) => format!("[{}]", l.iter().map(|s| toml_string(s)).collect::<Vec<_>>().join(", ")),
        Dflt::EmptyMap => "{}".to_string(),
        Dflt::Derived(from) => default_value(find(from).expect("derived defaults name real keys")),
    }
}

/// A TOML basic string: `"` and `\` escaped, and every control character.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;

    #[test]
    fn the_profile_builds_and_has_every_key() {
        let text = profile(&Overrides::default());
        let c = compile("p.toml", &text, None).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert_eq!(c.plan.release, "redis-shared");
        // Setting every default explicitly changes nothing.
        let reference = compile("p.toml", "", None).unwrap();
        assert_eq!(c.bundle.files.len(), reference.bundle.files.len());
        for (a, b) in c.bundle.files.iter().zip(&reference.bundle.files) {
            assert!(a == b, "{} differs from the build of an empty profile", a.path);
        }
        let table: toml::Table = text.parse().unwrap();
        for k in KEYS {
            let derived = matches!(k.default, Dflt::Derived(_));
            assert_eq!(table.contains_key(k.name), !derived, "{}", k.name);
            assert!(text.contains(&format!("\n{}{} = ", if derived { "# " } else { "" }, k.name)), "{}", k.name);
        }
    }

    #[test]
    fn name_and_namespace_are_set() {
        let text = profile(&Overrides { release_name: Some("cache"), namespace: Some("apps") });
        let c = compile("init.toml", &text, None).unwrap();
        assert_eq!((c.plan.release.as_str(), c.plan.namespace.as_str()), ("cache", "apps"));
    }

    #[test]
    fn strings_are_escaped_and_lines_wrapped() {
        assert_eq!(toml_string("a\"b\\c\u{7f}"), "\"a\\\"b\\\\c\\u007F\"");
        let text = profile(&Overrides { release_name: Some("x\"\n"), namespace: None });
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(table["release_name"].as_str(), Some("x\"\n"));
        assert!(text.lines().all(|l| l.len() <= WIDTH || !l.starts_with('#')), "{text}");
    }
}
