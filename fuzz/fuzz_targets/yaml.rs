//! Fuzz target: redis_gen::yaml::to_string must write exactly what
//! serde_norway::to_string writes, for any value. The bytes are read as a small
//! program that builds a YAML value: nested mappings and sequences of
//! strings (made of arbitrary UTF-8 and of pieces YAML quotes), numbers,
//! booleans and nulls.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_norway::{Mapping, Value};

const PIECES: &[&str] = &[
    " ", "\n", "#", ":", "- ", "---", "...", "'", "\"", "0", "007", "1e3", "-.inf", "true", "null", "~", "\t", "é",
    "\u{2028}", "\u{feff}", "a", "|", ">", "&", "*", "!", "%", "@", "`", "{", "[", ",", "?",
];

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }

    fn string(&mut self) -> String {
        let mut s = String::new();
        for _ in 0..self.byte() % 8 {
            match self.byte() {
                b if (b as usize) < PIECES.len() => s.push_str(PIECES[b as usize]),
                b => s.push(char::from_u32(u32::from(b) * 97 + u32::from(self.byte())).unwrap_or('x')),
            }
        }
        s
    }

    fn value(&mut self, depth: u8) -> Value {
        match self.byte() % if depth > 4 { 5 } else { 7 } {
            0 => Value::Null,
            1 => Value::Bool(self.byte() % 2 == 0),
            2 => Value::Number((i64::from(self.byte() as i8) * 1000).into()),
            3 => Value::Number((f64::from(self.byte()) / 8.0).into()),
            4 => Value::String(self.string()),
            5 => Value::Sequence((0..self.byte() % 4).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let mut m = Mapping::new();
                for _ in 0..self.byte() % 4 {
                    let key = self.string();
                    m.insert(Value::String(key), self.value(depth + 1));
                }
                Value::Mapping(m)
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let value = Reader(data).value(0);
    let expected = serde_norway::to_string(&value).expect("serde_norway writes every value");
    assert_eq!(redis_gen::yaml::to_string(&value), expected, "{value:?}");
});
