//! EngineData: the PostScript-like dictionary a text layer keeps its styled
//! text in (`<< /Key value >>`, `[ ]` arrays, `( )` strings, numbers,
//! booleans and `/Name`s).
//!
//! The parser is lenient about what it does not know (stray bytes are
//! skipped, a truncated document ends its open containers) and strict about
//! resources: nesting deeper than the given limit is an error, and every
//! value consumes at least one input byte, so memory stays linear in the
//! input size.

use crate::error::{Error, Result};

/// One EngineData value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<< /Key value ... >>`, in file order.
    Dict(Vec<(String, Value)>),
    /// `[ value ... ]`.
    Array(Vec<Value>),
    /// `( ... )`, decoded (UTF-16BE after a byte-order mark, else Latin-1).
    String(String),
    /// An integer or real.
    Number(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `/Name` in value position.
    Name(String),
}

impl Value {
    /// Value under `key` of a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// Element `i` of an array.
    pub fn index(&self, i: usize) -> Option<&Value> {
        match self {
            Value::Array(items) => items.get(i),
            _ => None,
        }
    }
    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(v) => Some(*v),
            _ => None,
        }
    }
    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(v) => Some(v),
            _ => None,
        }
    }
    /// Follows a path of dictionary keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Value> {
        keys.iter().try_fold(self, |v, k| v.get(k))
    }
}

/// Parses an EngineData document; its top level is one dictionary.
pub fn parse(data: &[u8], max_depth: u32) -> Result<Value> {
    let mut p = Parser { data, pos: 0 };
    p.skip_space();
    if !p.data[p.pos..].starts_with(b"<<") {
        return Err(Error::invalid(
            "text engine data",
            "does not start with a dictionary",
        ));
    }
    p.pos += 2;
    p.dict(1, max_depth)
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
}

/// Bytes that end a bare token.
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'/' | b'%')
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if b.is_ascii_whitespace() || b == 0 {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn check_depth(depth: u32, max_depth: u32) -> Result<()> {
        Error::check_limit(
            "text engine data nesting depth",
            depth as u64,
            max_depth as u64,
        )
    }

    /// A dictionary body after `<<`, up to and including `>>` (or the end).
    fn dict(&mut self, depth: u32, max_depth: u32) -> Result<Value> {
        Self::check_depth(depth, max_depth)?;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => break,
                Some(b'>') => {
                    // `>>` closes; a lone `>` is noise.
                    self.pos += 1;
                    if self.peek() == Some(b'>') {
                        self.pos += 1;
                        break;
                    }
                }
                Some(b'/') => {
                    let key = self.name();
                    self.skip_space();
                    // A key right before `>>` has no value: drop it.
                    if matches!(self.peek(), None | Some(b'>')) {
                        continue;
                    }
                    if let Some(v) = self.value(depth, max_depth)? {
                        items.push((key, v));
                    }
                }
                Some(_) => {
                    // Anything else where a key belongs is skipped.
                    let _ = self.value(depth, max_depth)?;
                }
            }
        }
        Ok(Value::Dict(items))
    }

    /// An array body after `[`, up to and including `]` (or the end).
    fn array(&mut self, depth: u32, max_depth: u32) -> Result<Value> {
        Self::check_depth(depth, max_depth)?;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => break,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => {
                    if let Some(v) = self.value(depth, max_depth)? {
                        items.push(v);
                    }
                }
            }
        }
        Ok(Value::Array(items))
    }

    /// `/Name` at the cursor (the slash included).
    fn name(&mut self) -> String {
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_delimiter(b)) {
            self.pos += 1;
        }
        self.data[start..self.pos]
            .iter()
            .map(|&b| b as char)
            .collect()
    }

    /// One value at the cursor; `None` for skipped noise. Always consumes at
    /// least one byte unless at the end.
    fn value(&mut self, depth: u32, max_depth: u32) -> Result<Option<Value>> {
        let Some(b) = self.peek() else {
            return Ok(None);
        };
        Ok(Some(match b {
            b'<' if self.data[self.pos..].starts_with(b"<<") => {
                self.pos += 2;
                self.dict(depth + 1, max_depth)?
            }
            b'[' => {
                self.pos += 1;
                self.array(depth + 1, max_depth)?
            }
            b'(' => {
                self.pos += 1;
                Value::String(self.string())
            }
            b'/' => Value::Name(self.name()),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|b| !is_delimiter(b)) {
                    self.pos += 1;
                }
                if self.pos == start {
                    // A delimiter with no meaning here (`)`, `]`, `>`, `%`).
                    self.pos += 1;
                    return Ok(None);
                }
                let token = &self.data[start..self.pos];
                match token {
                    b"true" => Value::Bool(true),
                    b"false" => Value::Bool(false),
                    _ => match std::str::from_utf8(token).ok().and_then(|t| t.parse().ok()) {
                        Some(v) => Value::Number(v),
                        None => return Ok(None),
                    },
                }
            }
        }))
    }

    /// A string body after `(`, up to and including the closing `)`.
    /// A backslash takes the next byte literally: Photoshop escapes `(`, `)`
    /// and `\` bytes, which may sit inside UTF-16 code units.
    fn string(&mut self) -> String {
        let mut bytes = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b')' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        self.pos += 1;
                        bytes.push(n);
                    }
                }
                _ => bytes.push(b),
            }
        }
        decode_string(&bytes)
    }
}

/// Decodes string bytes: UTF-16BE after a `FE FF` mark, Latin-1 otherwise.
fn decode_string(bytes: &[u8]) -> String {
    match bytes {
        [0xfe, 0xff, rest @ ..] => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => bytes.iter().map(|&b| b as char).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_hand_written_document() {
        let src = b"\n\n<<\n\t/EngineDict\n\t<<\n\t\t/Editor << /Text (\xfe\xff\x00H\x00\\(\x00\\)\x00\r) >>\n\
            \t\t/Sizes [ 12.5 -.5 3 ]\n\t\t/On true /Off false /Kind /Roman\n\t>>\n\t/Empty << >>\n\t/Latin (a\\\\b)\n>>";
        let v = parse(src, 8).unwrap();
        assert_eq!(
            v.path(&["EngineDict", "Editor", "Text"])
                .and_then(Value::as_str),
            Some("H()\r")
        );
        let sizes = v.path(&["EngineDict", "Sizes"]).unwrap();
        assert_eq!(sizes.index(0).and_then(Value::as_f64), Some(12.5));
        assert_eq!(sizes.index(1).and_then(Value::as_f64), Some(-0.5));
        assert_eq!(sizes.index(2).and_then(Value::as_f64), Some(3.0));
        assert_eq!(v.path(&["EngineDict", "On"]), Some(&Value::Bool(true)));
        assert_eq!(v.path(&["EngineDict", "Off"]), Some(&Value::Bool(false)));
        assert_eq!(
            v.path(&["EngineDict", "Kind"]),
            Some(&Value::Name("Roman".into()))
        );
        assert_eq!(v.get("Empty"), Some(&Value::Dict(vec![])));
        assert_eq!(v.get("Latin").and_then(Value::as_str), Some("a\\b"));
    }

    #[test]
    fn truncated_and_garbage_input_do_not_panic() {
        let src = b"<< /A [ 1 2 << /B (\xfe\xff\x00";
        let v = parse(src, 8).unwrap();
        assert_eq!(
            v.path(&["A"])
                .and_then(|a| a.index(1))
                .and_then(Value::as_f64),
            Some(2.0)
        );
        assert!(parse(b"", 8).is_err());
        assert!(parse(b"garbage", 8).is_err());
        // Every prefix and a pseudo-random byte soup.
        let full = b"<< /K [ (x) 1.5 /N true >> ] ) ] >> >> % <<";
        for n in 0..full.len() {
            let _ = parse(&full[..n], 8);
        }
        let soup: Vec<u8> = (0..4000u32)
            .map(|i| b"<<>>[]()/\\ 1.e-x"[(i * 7919 % 17) as usize % 16])
            .collect();
        let mut with_head = b"<<".to_vec();
        with_head.extend(soup);
        let _ = parse(&with_head, 16);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut src = Vec::new();
        for _ in 0..100 {
            src.extend_from_slice(b"<< /A ");
        }
        assert!(matches!(parse(&src, 32), Err(Error::LimitExceeded { .. })));
        let mut arr = b"<< /A ".to_vec();
        arr.extend(std::iter::repeat_n(b'[', 100));
        assert!(parse(&arr, 32).is_err());
    }
}
