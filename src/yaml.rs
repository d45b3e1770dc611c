//! YAML text of an object, written straight from its `Serialize` impl.
//!
//! The output is exactly what `serde_norway::to_string` writes (serde_norway
//! is the maintained fork of serde_yaml 0.9; it drives libyaml with unlimited
//! width and unicode on): the same quoting choices, the same indentation, the
//! same literal blocks. It is kept equal so that committed `out/` directories
//! never change because of how they were written; tests compare the two on
//! every object of several builds and on thousands of generated values.
//!
//! Why not serde_norway itself: it goes through libyaml's event machine and
//! analyses and copies every scalar character by character, which made YAML
//! emission 60% of the time of a whole build. This writer handles the shapes
//! Kubernetes objects have (mappings with string keys, sequences, strings,
//! numbers, booleans, null) and hands anything else (a string that libyaml
//! would double-quote, a tag, a complex key) back to serde_norway, so the text
//! is always serde_norway's.

use std::fmt::{self, Display, Write as _};

use serde::ser::{self, Serialize};

/// `value` as a YAML document, as `serde_norway::to_string` writes it.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    written(value).unwrap_or_else(|Fallback| serde_norway::to_string(value).expect("objects serialize to YAML"))
}

/// The text this writer produces itself, or `Fallback`.
fn written<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut out = String::with_capacity(4096);
    value.serialize(Node { out: &mut out, at: Place::Root })?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// A shape this writer leaves to serde_norway.
#[derive(Debug)]
pub struct Fallback;

impl Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_norway")
    }
}

impl std::error::Error for Fallback {}

impl ser::Error for Fallback {
    fn custom<T: Display>(_: T) -> Self {
        Fallback
    }
}

type Result<T = ()> = std::result::Result<T, Fallback>;

/// Where a node is written.
#[derive(Clone, Copy)]
enum Place {
    /// The document itself.
    Root,
    /// The value of a key of a block mapping whose keys are at this column.
    Value(usize),
    /// An item of a block sequence whose dashes are at this column.
    Item(usize),
}

impl Place {
    /// Column of the keys of a block mapping written here.
    fn mapping_indent(self) -> usize {
        match self {
            Place::Root => 0,
            Place::Value(keys) => keys + 2,
            Place::Item(dash) => dash + 2,
        }
    }

    /// Column of the dashes of a block sequence written here (a sequence
    /// that is a mapping's value is not indented, as libyaml writes it).
    fn sequence_indent(self) -> usize {
        match self {
            Place::Root => 0,
            Place::Value(keys) => keys,
            Place::Item(dash) => dash + 2,
        }
    }

    /// Column of the lines of a literal block written here.
    fn block_indent(self) -> Option<usize> {
        match self {
            Place::Root => None,
            Place::Value(keys) => Some(keys + 2),
            Place::Item(dash) => Some(dash + 2),
        }
    }
}

fn new_line(out: &mut String, indent: usize) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    spaces(out, indent);
}

fn spaces(out: &mut String, n: usize) {
    const SPACES: &str = "                                ";
    let mut left = n;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

/// Starts an entry of a collection: the first entry of a collection that is
/// itself a sequence item stays on the dash's line.
fn start_entry(out: &mut String, at: Place, first: bool, indent: usize) {
    match at {
        Place::Item(_) if first => out.push(' '),
        _ => new_line(out, indent),
    }
}

/// How libyaml writes a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    Literal,
}

/// What libyaml's scalar analysis finds, for the strings this writer takes.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    block_allowed: bool,
}

/// libyaml's scalar analysis (yaml_emitter_analyze_scalar), or `None` when
/// the string needs double quotes or contains a line break other than `\n`.
fn analyze(s: &str) -> Option<Analysis> {
    if let Some(a) = analyze_ascii_block(s) {
        return Some(a);
    }
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return Some(Analysis { multiline: false, block_plain_allowed: true, block_allowed: false });
    };
    // Followed by whitespace: the next character is a blank or the end.
    let blank_at = |i: usize| bytes.get(i).is_none_or(|b| matches!(b, b' ' | b'\t' | b'\n'));
    let mut block_indicators = match first {
        b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@'
        | b'`' => true,
        b'?' | b':' | b'-' => blank_at(1),
        _ => false,
    } || s.starts_with("---")
        || s.starts_with("...");
    let (mut line_breaks, mut break_space, mut space_break) = (false, false, false);
    let (mut previous_space, mut previous_break, mut preceded_by_whitespace) = (false, false, true);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            match b {
                b' ' => {
                    break_space |= previous_break;
                    previous_space = true;
                    previous_break = false;
                }
                b'\n' => {
                    line_breaks = true;
                    space_break |= previous_space;
                    previous_space = false;
                    previous_break = true;
                }
                b'!'..=b'~' => {
                    if i > 0 && ((b == b':' && blank_at(i + 1)) || (b == b'#' && preceded_by_whitespace)) {
                        block_indicators = true;
                    }
                    previous_space = false;
                    previous_break = false;
                }
                _ => return None, // not printable (a tab, a control character): double quotes
            }
            preceded_by_whitespace = matches!(b, b' ' | b'\n');
            i += 1;
        } else {
            let c = s[i..].chars().next()?;
            let printable =
                matches!(c, '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'..);
            if !printable || matches!(c, '\u{2028}' | '\u{2029}') {
                return None; // double quotes, or a line break that is not `\n`
            }
            previous_space = false;
            previous_break = false;
            preceded_by_whitespace = false;
            i += c.len_utf8();
        }
    }
    if space_break {
        return None; // double-quoted, whatever was asked
    }
    let (leading, trailing) = (first, bytes[bytes.len() - 1]);
    let trailing_space = trailing == b' ';
    let edges = matches!(leading, b' ' | b'\n') || matches!(trailing, b' ' | b'\n');
    let plain = !(edges || break_space || line_breaks);
    Some(Analysis {
        multiline: line_breaks,
        block_plain_allowed: plain && !block_indicators,
        block_allowed: !trailing_space,
    })
}

/// The common case of a long text (a config file, a dashboard), checked a
/// byte at a time: several lines of printable ASCII, no space before a line
/// break and none at the end. Such a string is never plain (it has breaks),
/// so its indicators do not matter. `None` means "analyse it fully".
fn analyze_ascii_block(s: &str) -> Option<Analysis> {
    let bytes = s.as_bytes();
    // No early exit, so that the compiler can check many bytes at once.
    let printable = bytes.iter().fold(true, |ok, &b| ok & ((b == b'\n') | (b.wrapping_sub(b' ') < 0x5f)));
    if !printable || !bytes.contains(&b'\n') || s.contains(" \n") {
        return None;
    }
    Some(Analysis { multiline: true, block_plain_allowed: false, block_allowed: !s.ends_with(' ') })
}

/// Whether serde_norway quotes `s` because a YAML reader would not take it
/// for a string (null, a boolean, a number, or digits with a leading zero).
fn reads_as_non_string(s: &str) -> bool {
    let first = match s.bytes().next() {
        None => return true,
        Some(b) => b,
    };
    // Every non-string form starts with one of these; skip the rest fast.
    if !matches!(first, b'0'..=b'9' | b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'i' | b'I')
    {
        return false;
    }
    matches!(s, "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
        || digits_but_not_number(s)
        || is_int(s)
        || is_float(s)
}

fn digits_but_not_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// serde_norway's integer forms: decimal, 0x, 0o, 0b, with a sign.
fn is_int(s: &str) -> bool {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if unsigned.starts_with(['+', '-']) {
        return false;
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unsigned.strip_prefix(prefix)
            && !rest.starts_with(['+', '-'])
            && u128::from_str_radix(rest, radix).is_ok_and(|v| fits(v, negative))
        {
            return true;
        }
    }
    !digits_but_not_number(s) && unsigned.parse::<u128>().is_ok_and(|v| fits(v, negative))
}

fn fits(magnitude: u128, negative: bool) -> bool {
    !negative || magnitude <= i128::MIN.unsigned_abs()
}

/// serde_norway's float forms: what Rust parses as a finite f64, and the
/// YAML spellings of infinity and NaN.
fn is_float(s: &str) -> bool {
    let unsigned = match s.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return false,
        Some(rest) => rest,
        None => s,
    };
    matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || matches!(s, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Writes a string scalar at `at` (after `key:` or `-`), or as a key.
fn scalar(out: &mut String, s: &str, at: Place, key: bool) -> Result {
    let requested = if s.contains('\n') {
        Style::Literal
    } else if reads_as_non_string(s) {
        Style::SingleQuoted
    } else {
        Style::Plain
    };
    let a = analyze(s).ok_or(Fallback)?;
    if key && (a.multiline || s.len() > 128) {
        return Err(Fallback); // libyaml writes a complex key or double quotes
    }
    let style = match requested {
        Style::Plain if !a.block_plain_allowed || (key && s.is_empty()) => Style::SingleQuoted,
        Style::Literal if !a.block_allowed => return Err(Fallback),
        other => other,
    };
    if style == Style::Literal && matches!(at, Place::Root) {
        return Err(Fallback);
    }
    if !key && !matches!(at, Place::Root) {
        out.push(' ');
    }
    match style {
        Style::Plain => out.push_str(s),
        Style::SingleQuoted => {
            out.push('\'');
            for (i, part) in s.split('\'').enumerate() {
                if i > 0 {
                    out.push_str("''");
                }
                out.push_str(part);
            }
            out.push('\'');
        }
        Style::Literal => literal(out, s, at.block_indent().ok_or(Fallback)?)?,
    }
    Ok(())
}

/// A literal block (`|`), with libyaml's indentation and chomping hints.
fn literal(out: &mut String, s: &str, indent: usize) -> Result {
    let ends_with_break = s.ends_with('\n');
    if s == "\n" || s.ends_with("\n\n") {
        return Err(Fallback); // keep (`|+`): libyaml then ends the document with `...`
    }
    out.push('|');
    if s.starts_with([' ', '\n']) {
        out.push('2');
    }
    if !ends_with_break {
        out.push('-');
    }
    out.push('\n');
    out.reserve(s.len() + s.len() / 8);
    for line in s.split_inclusive('\n') {
        if line != "\n" {
            spaces(out, indent);
        }
        out.push_str(line);
    }
    Ok(())
}

fn plain(out: &mut String, text: &str, at: Place) -> Result {
    if !matches!(at, Place::Root) {
        out.push(' ');
    }
    out.push_str(text);
    Ok(())
}

/// A node of the document being written.
struct Node<'a> {
    out: &'a mut String,
    at: Place,
}

/// A block mapping or a struct; written as `{}` when it has no entries.
struct Mapping<'a> {
    out: &'a mut String,
    at: Place,
    indent: usize,
    first: bool,
}

/// A block sequence; written as `[]` when it has no items.
struct Sequence<'a> {
    out: &'a mut String,
    at: Place,
    indent: usize,
    first: bool,
}

fn empty(out: &mut String, at: Place, text: &str) {
    if !matches!(at, Place::Root) {
        out.push(' ');
    }
    out.push_str(text);
}

impl Mapping<'_> {
    fn key(&mut self, key: &str) -> Result {
        start_entry(self.out, self.at, self.first, self.indent);
        self.first = false;
        scalar(self.out, key, self.at, true)?;
        self.out.push(':');
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(Node { out: self.out, at: Place::Value(self.indent) })
    }

    fn finish(self) -> Result {
        if self.first {
            empty(self.out, self.at, "{}");
        }
        Ok(())
    }
}

impl ser::SerializeStruct for Mapping<'_> {
    type Ok = ();
    type Error = Fallback;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.key(key)?;
        self.value(value)
    }

    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeMap for Mapping<'_> {
    type Ok = ();
    type Error = Fallback;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        key.serialize(Key(self))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.value(value)
    }

    fn end(self) -> Result {
        self.finish()
    }
}

impl Sequence<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        start_entry(self.out, self.at, self.first, self.indent);
        self.first = false;
        self.out.push('-');
        value.serialize(Node { out: self.out, at: Place::Item(self.indent) })
    }

    fn finish(self) -> Result {
        if self.first {
            empty(self.out, self.at, "[]");
        }
        Ok(())
    }
}

/// serde's three sequence traits: one block sequence.
macro_rules! sequence_impls {
    ($($tr:ident::$method:ident),*) => {$(
        impl ser::$tr for Sequence<'_> {
            type Ok = ();
            type Error = Fallback;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                self.item(value)
            }

            fn end(self) -> Result {
                self.finish()
            }
        }
    )*};
}

sequence_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

/// Methods of a serde Serializer that all do the same with their one value.
macro_rules! each {
    ($body:expr; $($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result {
            let body: fn(Self, $ty) -> Result = $body;
            body(self, v)
        }
    )*};
}

impl<'a> Node<'a> {
    fn int(self, v: impl Display) -> Result {
        if !matches!(self.at, Place::Root) {
            self.out.push(' ');
        }
        write!(self.out, "{v}").map_err(|_| Fallback)
    }

    fn mapping(self) -> Mapping<'a> {
        let indent = self.at.mapping_indent();
        Mapping { out: self.out, at: self.at, indent, first: true }
    }

    fn sequence(self) -> Sequence<'a> {
        let indent = self.at.sequence_indent();
        Sequence { out: self.out, at: self.at, indent, first: true }
    }
}

impl<'a> ser::Serializer for Node<'a> {
    type Ok = ();
    type Error = Fallback;
    type SerializeSeq = Sequence<'a>;
    type SerializeTuple = Sequence<'a>;
    type SerializeTupleStruct = Sequence<'a>;
    type SerializeTupleVariant = ser::Impossible<(), Fallback>;
    type SerializeMap = Mapping<'a>;
    type SerializeStruct = Mapping<'a>;
    type SerializeStructVariant = ser::Impossible<(), Fallback>;

    fn serialize_bool(self, v: bool) -> Result {
        plain(self.out, if v { "true" } else { "false" }, self.at)
    }
    each!(|n, v| n.int(v); serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_i128(i128), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64),
        serialize_u128(u128));
    fn serialize_f32(self, _: f32) -> Result {
        Err(Fallback)
    }
    fn serialize_f64(self, v: f64) -> Result {
        if !v.is_finite() {
            return Err(Fallback);
        }
        plain(self.out, ryu::Buffer::new().format_finite(v), self.at)
    }
    fn serialize_char(self, _: char) -> Result {
        Err(Fallback)
    }
    fn serialize_str(self, v: &str) -> Result {
        scalar(self.out, v, self.at, false)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Fallback)
    }
    fn serialize_none(self) -> Result {
        plain(self.out, "null", self.at)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        plain(self.out, "null", self.at)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        plain(self.out, "null", self.at)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Fallback) // serde_norway writes a tag
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Sequence<'a>> {
        Ok(self.sequence())
    }
    fn serialize_tuple(self, _: usize) -> Result<Sequence<'a>> {
        Ok(self.sequence())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Sequence<'a>> {
        Ok(self.sequence())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Fallback)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Mapping<'a>> {
        Ok(self.mapping())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Mapping<'a>> {
        Ok(self.mapping())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Fallback)
    }
}

/// A mapping key: only strings are written here (the keys of Kubernetes
/// objects are); anything else goes to serde_norway.
struct Key<'m, 'a>(&'m mut Mapping<'a>);

impl ser::Serializer for Key<'_, '_> {
    type Ok = ();
    type Error = Fallback;
    type SerializeSeq = ser::Impossible<(), Fallback>;
    type SerializeTuple = ser::Impossible<(), Fallback>;
    type SerializeTupleStruct = ser::Impossible<(), Fallback>;
    type SerializeTupleVariant = ser::Impossible<(), Fallback>;
    type SerializeMap = ser::Impossible<(), Fallback>;
    type SerializeStruct = ser::Impossible<(), Fallback>;
    type SerializeStructVariant = ser::Impossible<(), Fallback>;

    fn serialize_str(self, v: &str) -> Result {
        self.0.key(v)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.0.key(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    each!(|_, _| Err(Fallback); serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64),
        serialize_f32(f32), serialize_f64(f64), serialize_char(char));
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Fallback)
    }
    fn serialize_none(self) -> Result {
        Err(Fallback)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Fallback)
    }
    fn serialize_unit(self) -> Result {
        Err(Fallback)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(Fallback)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Fallback)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Fallback)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Fallback)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct> {
        Err(Fallback)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Fallback)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Fallback)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Fallback)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_norway::{Mapping, Value};

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Gen(u64);

    impl Gen {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        /// Strings made of pieces that libyaml and serde_norway treat
        /// differently: indicators, numbers, booleans, spaces, breaks,
        /// quotes, unicode, control characters.
        fn string(&mut self) -> String {
            const PIECES: &[&str] = &[
                "a",
                "redis",
                "key: value",
                "a b",
                " ",
                "  ",
                "\n",
                "\n\n",
                "#",
                " #",
                "# c",
                "-",
                "- ",
                "--",
                "---",
                "...",
                ":",
                ": ",
                "?",
                "? ",
                ",",
                "[",
                "]",
                "{",
                "}",
                "&",
                "*",
                "!",
                "|",
                ">",
                "'",
                "\"",
                "%",
                "@",
                "`",
                "0",
                "1",
                "007",
                "-1",
                "+1",
                "0x1F",
                "0o17",
                "0b101",
                "1.5",
                "1e3",
                ".5",
                "-.inf",
                ".NaN",
                "inf",
                "nan",
                "true",
                "False",
                "NULL",
                "~",
                "null",
                "yes",
                "é",
                "日本",
                "😀",
                "\t",
                "\r",
                "\u{85}",
                "\u{2028}",
                "\u{feff}",
                "\u{7}",
                "\u{0}",
                "\u{a0}",
                "\u{fffe}",
                "x ",
                "=",
                "/",
                "\\",
                "500m",
                "10Gi",
                "192.168.4.0/24",
                "app.kubernetes.io/name",
            ];
            let mut s = String::new();
            for _ in 0..self.below(5) {
                s.push_str(PIECES[self.below(PIECES.len())]);
            }
            s
        }

        fn value(&mut self, depth: usize) -> Value {
            match self.below(if depth > 3 { 6 } else { 9 }) {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 0),
                2 => Value::Number((self.below(2000) as i64 - 1000).into()),
                3 => Value::Number((self.below(1000) as f64 / 8.0).into()),
                4 | 5 => Value::String(self.string()),
                6 => Value::Sequence((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
                _ => {
                    let mut m = Mapping::new();
                    for _ in 0..self.below(4) {
                        let key = self.string();
                        m.insert(Value::String(key), self.value(depth + 1));
                    }
                    Value::Mapping(m)
                }
            }
        }
    }

    #[test]
    fn generated_values_are_written_exactly_as_serde_norway_writes_them() {
        let mut g = Gen(0x2545_F491_4F6C_DD1D);
        let (mut mine, mut total) = (0, 0);
        for _ in 0..20_000 {
            let mut root = Mapping::new();
            for _ in 0..1 + g.below(3) {
                let key = g.string();
                root.insert(Value::String(key), g.value(0));
            }
            let root = Value::Mapping(root);
            let expected = serde_norway::to_string(&root).unwrap();
            assert_eq!(to_string(&root), expected, "{root:?}");
            total += 1;
            mine += usize::from(written(&root).is_ok());
        }
        // Both paths must be taken often, or the comparison would only test
        // serde_norway against itself (about 45% take this writer's own path:
        // one awkward string anywhere sends a whole value to serde_norway).
        assert!(mine * 3 > total && mine * 3 < total * 2, "{mine} of {total} written without serde_norway");
    }

    #[test]
    fn every_scalar_shape_alone_is_written_as_serde_norway_writes_it() {
        let mut g = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let s = g.string();
            for v in [
                Value::Mapping([(Value::String("k".into()), Value::String(s.clone()))].into_iter().collect()),
                Value::Mapping([(Value::String(s.clone()), Value::Null)].into_iter().collect()),
                Value::Sequence(vec![Value::String(s.clone()), Value::Sequence(vec![Value::String(s.clone())])]),
            ] {
                assert_eq!(to_string(&v), serde_norway::to_string(&v).unwrap(), "{s:?}");
            }
        }
    }

    #[test]
    fn long_blocks_and_nesting_are_written_as_serde_norway_writes_them() {
        let block = "{\n  \"panels\": [\n    1,\n    2\n  ]\n}\n".repeat(200);
        let cases = [
            format!("data:\n  dashboard.json: {block:?}\n"),
            "a:\n- b: 1\n  c:\n  - - x\n    - []\n  - {}\n- - - y\n".to_string(),
            "a: {}\nb: []\nc: ''\nd: null\ne: -1.5\n".to_string(),
        ];
        for text in cases {
            let v: Value = serde_norway::from_str(&text).unwrap();
            assert!(written(&v).is_ok(), "{text}");
            assert_eq!(to_string(&v), serde_norway::to_string(&v).unwrap());
        }
    }

    #[test]
    fn shapes_left_to_serde_norway_still_come_out_as_serde_norway_writes_them() {
        #[derive(serde::Serialize)]
        enum Tagged {
            Newtype(u8),
        }
        let long_key = "k".repeat(200);
        let tab = Value::String("a\tb".into());
        assert!(written(&Tagged::Newtype(1)).is_err());
        assert!(written(&[(long_key.as_str(), 1)].into_iter().collect::<std::collections::BTreeMap<_, _>>()).is_err());
        assert!(written(&[(1, 2)].into_iter().collect::<std::collections::BTreeMap<_, _>>()).is_err());
        assert!(written(&tab).is_err());
        assert_eq!(to_string(&Tagged::Newtype(1)), serde_norway::to_string(&Tagged::Newtype(1)).unwrap());
        assert_eq!(to_string(&tab), serde_norway::to_string(&tab).unwrap());
    }
}
