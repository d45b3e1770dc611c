//! Fuzz target: any bytes as a profile. `redis_gen::compile` must never
//! panic; every diagnostic it returns must render (positions inside the
//! text); every bundle it accepts must be YAML that parses back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_gen::diag::{Diagnostic, render};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match redis_gen::compile("fuzz.toml", text, None) {
        Err(diags) => {
            assert!(!diags.is_empty(), "an error without a diagnostic");
            for d in &diags {
                check_diagnostic(text, d);
            }
        }
        Ok(compiled) => {
            for f in &compiled.bundle.files {
                let body = std::str::from_utf8(&f.contents).expect("generated files are UTF-8");
                if f.path.ends_with(".yaml") {
                    let v: serde_norway::Value = serde_norway::from_str(body).expect("generated YAML parses");
                    assert!(v.is_mapping(), "{} is not one mapping", f.path);
                }
            }
        }
    }
});

fn check_diagnostic(text: &str, d: &Diagnostic) {
    if let Some(span) = &d.span {
        assert!(span.start <= span.end && span.end <= text.len(), "span {span:?} outside the text");
    }
    let shown = render("fuzz.toml", text, d, "error");
    assert!(shown.starts_with("error: fuzz.toml"), "{shown}");
    // Only line breaks between lines: no control character of the input may
    // reach the terminal.
    assert!(!shown.chars().any(|c| c.is_control() && c != '\n'), "control character in {shown:?}");
}
