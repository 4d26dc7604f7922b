//! Action descriptors: Photoshop's self-describing key/value structure, used
//! by smart objects, effects, fill layers, text and most newer blocks.
//!
//! The parser keeps every value (no silent skipping) and bounds nesting by
//! [`crate::Limits::max_descriptor_depth`] so cyclic-looking or very deep
//! input cannot exhaust the stack.

use crate::error::{Error, Result};
use crate::psd::reader::Reader;

/// A descriptor: a class with ordered key/value items.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Descriptor {
    /// Human-readable class name (often empty).
    pub name: String,
    /// Class ID, a 4-character code or a longer string.
    pub class_id: String,
    /// Items in file order.
    pub items: Vec<(String, Value)>,
}

/// One element of a reference value.
#[derive(Debug, Clone, PartialEq)]
pub enum RefItem {
    /// `prop`: a property of a class.
    Property {
        /// Class ID.
        class_id: String,
        /// Property key.
        key: String,
    },
    /// `Clss`: a class.
    Class {
        /// Class ID.
        class_id: String,
    },
    /// `Enmr`: an enumerated reference.
    Enumerated {
        /// Class ID.
        class_id: String,
        /// Enum type ID.
        type_id: String,
        /// Enum value.
        value: String,
    },
    /// `rele`: an offset within a class.
    Offset {
        /// Class ID.
        class_id: String,
        /// Offset.
        offset: u32,
    },
    /// `Idnt`: an identifier.
    Identifier(u32),
    /// `indx`: an index.
    Index(u32),
    /// `name`: a named element of a class.
    Name {
        /// Class ID.
        class_id: String,
        /// Element name.
        name: String,
    },
}

/// A descriptor value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `Objc` / `GlbO`.
    Descriptor(Descriptor),
    /// `VlLs`.
    List(Vec<Value>),
    /// `doub`.
    Double(f64),
    /// `UntF`: unit code (`#Pxl`, `#Prc`, `#Ang`, `#Rsl`, `#Rlt`, `#Nne`, ...) and value.
    UnitFloat {
        /// Unit code.
        unit: String,
        /// The value.
        value: f64,
    },
    /// `UnFl`: unit code and values.
    UnitFloats {
        /// Unit code.
        unit: String,
        /// The values.
        values: Vec<f64>,
    },
    /// `TEXT`.
    String(String),
    /// `enum`: type and value.
    Enum {
        /// Enum type ID.
        type_id: String,
        /// Enum value.
        value: String,
    },
    /// `long`.
    Integer(i32),
    /// `comp`.
    LargeInteger(i64),
    /// `bool`.
    Boolean(bool),
    /// `type` / `GlbC`.
    Class {
        /// Class name.
        name: String,
        /// Class ID.
        class_id: String,
    },
    /// `alis`, `Pth `: opaque bytes.
    Alias(Vec<u8>),
    /// `tdta`: raw data.
    RawData(Vec<u8>),
    /// `obj `.
    Reference(Vec<RefItem>),
    /// `ObAr`: an object array, kept as its descriptor form.
    ObjectArray(Descriptor),
}

impl Value {
    /// Numeric value of `doub`, `UntF`, `long` or `comp`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(v) => Some(*v),
            Value::UnitFloat { value, .. } => Some(*value),
            Value::Integer(v) => Some(*v as f64),
            Value::LargeInteger(v) => Some(*v as f64),
            _ => None,
        }
    }
    /// The descriptor inside `Objc`/`GlbO`/`ObAr`.
    pub fn as_descriptor(&self) -> Option<&Descriptor> {
        match self {
            Value::Descriptor(d) | Value::ObjectArray(d) => Some(d),
            _ => None,
        }
    }
    /// The items of a `VlLs`.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) => Some(v),
            _ => None,
        }
    }
    /// Text of a `TEXT`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// Value of an `enum`.
    pub fn as_enum(&self) -> Option<&str> {
        match self {
            Value::Enum { value, .. } => Some(value),
            _ => None,
        }
    }
    /// A `bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }
    /// Unit code of a `UntF`.
    pub fn unit(&self) -> Option<&str> {
        match self {
            Value::UnitFloat { unit, .. } | Value::UnitFloats { unit, .. } => Some(unit),
            _ => None,
        }
    }
}

impl Descriptor {
    /// First value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Numeric value under `key`.
    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }
    /// Nested descriptor under `key`.
    pub fn desc(&self, key: &str) -> Option<&Descriptor> {
        self.get(key).and_then(Value::as_descriptor)
    }
    /// List under `key`.
    pub fn list(&self, key: &str) -> Option<&[Value]> {
        self.get(key).and_then(Value::as_list)
    }
    /// Text under `key`.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
    /// Enum value under `key`.
    pub fn enum_value(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_enum)
    }
    /// Boolean under `key`.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }
    /// Unit-float values (`UnFl`) under `key`.
    pub fn floats(&self, key: &str) -> Option<&[f64]> {
        match self.get(key)? {
            Value::UnitFloats { values, .. } => Some(values),
            _ => None,
        }
    }
}

/// Reads a descriptor that is preceded by its u32 version (16).
pub fn parse_versioned(r: &mut Reader<'_>, max_depth: u32) -> Result<Descriptor> {
    let version = r.u32("descriptor version")?;
    if version != 16 {
        return Err(Error::invalid(
            "descriptor version",
            format!("{version}, expected 16"),
        ));
    }
    parse(r, max_depth)
}

/// Reads a descriptor (class name, class ID, items).
pub fn parse(r: &mut Reader<'_>, max_depth: u32) -> Result<Descriptor> {
    parse_at(r, 0, max_depth)
}

fn parse_at(r: &mut Reader<'_>, depth: u32, max_depth: u32) -> Result<Descriptor> {
    Error::check_limit(
        "descriptor nesting depth",
        depth as u64 + 1,
        max_depth as u64,
    )?;
    let name = r.unicode_string("descriptor name")?;
    let class_id = r.id_string("descriptor class id")?;
    let count = r.u32("descriptor item count")?;
    // Each item takes at least 9 bytes: refuse counts the data cannot hold
    // before reserving anything.
    if count as u64 * 9 > r.remaining() as u64 {
        return Err(Error::invalid(
            "descriptor",
            format!("{count} items cannot fit in {} bytes", r.remaining()),
        ));
    }
    let mut items = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let key = r.id_string("descriptor key")?;
        let value = parse_value(r, depth, max_depth)?;
        items.push((key, value));
    }
    Ok(Descriptor {
        name,
        class_id,
        items,
    })
}

fn parse_value(r: &mut Reader<'_>, depth: u32, max_depth: u32) -> Result<Value> {
    let ty = r.array::<4>("descriptor value type")?;
    parse_typed(r, &ty, depth, max_depth)
}

fn ostype(r: &mut Reader<'_>, context: &'static str) -> Result<String> {
    Ok(r.array::<4>(context)?.iter().map(|&b| b as char).collect())
}

fn parse_typed(r: &mut Reader<'_>, ty: &[u8; 4], depth: u32, max_depth: u32) -> Result<Value> {
    Ok(match ty {
        b"Objc" | b"GlbO" => Value::Descriptor(parse_at(r, depth + 1, max_depth)?),
        b"VlLs" => {
            let count = r.u32("list count")?;
            if count as u64 * 4 > r.remaining() as u64 {
                return Err(Error::invalid(
                    "descriptor list",
                    format!("{count} items cannot fit"),
                ));
            }
            Error::check_limit(
                "descriptor nesting depth",
                depth as u64 + 2,
                max_depth as u64,
            )?;
            let mut items = Vec::with_capacity(count as usize);
            for _ in 0..count {
                items.push(parse_value(r, depth + 1, max_depth)?);
            }
            Value::List(items)
        }
        b"doub" => Value::Double(r.f64("double")?),
        b"UntF" => {
            let unit = ostype(r, "unit")?;
            Value::UnitFloat {
                unit,
                value: r.f64("unit float")?,
            }
        }
        b"UnFl" => {
            let unit = ostype(r, "unit")?;
            let count = r.u32("unit float count")?;
            let bytes = r.bytes(count as u64 * 8, "unit floats")?;
            let values = bytes
                .chunks_exact(8)
                .map(|c| f64::from_be_bytes(c.try_into().expect("8 bytes")))
                .collect();
            Value::UnitFloats { unit, values }
        }
        b"TEXT" => Value::String(r.unicode_string("text")?),
        b"enum" => {
            let type_id = r.id_string("enum type")?;
            let value = r.id_string("enum value")?;
            Value::Enum { type_id, value }
        }
        b"long" => Value::Integer(r.i32("integer")?),
        b"comp" => Value::LargeInteger(r.i64("large integer")?),
        b"bool" => Value::Boolean(r.u8("boolean")? != 0),
        b"type" | b"GlbC" => {
            let name = r.unicode_string("class name")?;
            let class_id = r.id_string("class id")?;
            Value::Class { name, class_id }
        }
        b"alis" | b"Pth " => {
            let len = r.u32("alias length")?;
            Value::Alias(r.bytes(len as u64, "alias")?.to_vec())
        }
        b"tdta" => {
            let len = r.u32("raw data length")?;
            Value::RawData(r.bytes(len as u64, "raw data")?.to_vec())
        }
        b"obj " => {
            let count = r.u32("reference count")?;
            if count as u64 * 4 > r.remaining() as u64 {
                return Err(Error::invalid(
                    "reference",
                    format!("{count} items cannot fit"),
                ));
            }
            let mut items = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let kind = r.array::<4>("reference item type")?;
                items.push(match &kind {
                    b"prop" => {
                        let _ = r.unicode_string("class name")?;
                        RefItem::Property {
                            class_id: r.id_string("class id")?,
                            key: r.id_string("key")?,
                        }
                    }
                    b"Clss" => {
                        let _ = r.unicode_string("class name")?;
                        RefItem::Class {
                            class_id: r.id_string("class id")?,
                        }
                    }
                    b"Enmr" => {
                        let _ = r.unicode_string("class name")?;
                        RefItem::Enumerated {
                            class_id: r.id_string("class id")?,
                            type_id: r.id_string("type id")?,
                            value: r.id_string("enum")?,
                        }
                    }
                    b"rele" => {
                        let _ = r.unicode_string("class name")?;
                        RefItem::Offset {
                            class_id: r.id_string("class id")?,
                            offset: r.u32("offset")?,
                        }
                    }
                    b"Idnt" => RefItem::Identifier(r.u32("identifier")?),
                    b"indx" => RefItem::Index(r.u32("index")?),
                    b"name" => {
                        let _ = r.unicode_string("class name")?;
                        RefItem::Name {
                            class_id: r.id_string("class id")?,
                            name: r.unicode_string("name")?,
                        }
                    }
                    other => {
                        return Err(Error::invalid(
                            "reference item type",
                            String::from_utf8_lossy(other),
                        ));
                    }
                });
            }
            Value::Reference(items)
        }
        b"ObAr" => {
            // Object array: a version-less descriptor-like block whose items
            // are typed values (usually `UnFl`).
            let _version = r.u32("object array version")?;
            Value::ObjectArray(parse_at(r, depth + 1, max_depth)?)
        }
        other => {
            return Err(Error::invalid(
                "descriptor value type",
                String::from_utf8_lossy(other),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Vec<u8> {
        let mut v = Vec::new();
        if s.len() == 4 {
            v.extend(0u32.to_be_bytes());
        } else {
            v.extend((s.len() as u32).to_be_bytes());
        }
        v.extend(s.as_bytes());
        v
    }

    fn desc_bytes(items: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 1, 0, 0]; // name: one NUL unit
        v.extend(id("null"));
        v.extend((items.len() as u32).to_be_bytes());
        for (k, val) in items {
            v.extend(id(k));
            v.extend(val);
        }
        v
    }

    #[test]
    fn reads_nested_values() {
        let mut dbl = b"doub".to_vec();
        dbl.extend(2.5f64.to_be_bytes());
        let mut unit = b"UntF#Prc".to_vec();
        unit.extend(50.0f64.to_be_bytes());
        let mut en = b"enum".to_vec();
        en.extend(id("BlnM"));
        en.extend(id("Mltp"));
        let inner = desc_bytes(&[("Opct", unit.clone())]);
        let mut obj = b"Objc".to_vec();
        obj.extend(inner);
        let bytes = desc_bytes(&[
            ("Scl ", dbl),
            ("Md  ", en),
            ("Clr ", obj),
            ("enab", b"bool\x01".to_vec()),
        ]);
        let d = parse(&mut Reader::new(&bytes), 8).unwrap();
        assert_eq!(d.f64("Scl "), Some(2.5));
        assert_eq!(d.enum_value("Md  "), Some("Mltp"));
        assert_eq!(d.desc("Clr ").unwrap().f64("Opct"), Some(50.0));
        assert_eq!(d.bool("enab"), Some(true));
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Build 40 nested descriptors.
        let mut bytes = desc_bytes(&[]);
        for _ in 0..40 {
            let mut obj = b"Objc".to_vec();
            obj.extend(bytes);
            bytes = desc_bytes(&[("x   ", obj)]);
        }
        let err = parse(&mut Reader::new(&bytes), 32).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
    }

    #[test]
    fn absurd_counts_are_refused_before_allocating() {
        let mut bytes = vec![0, 0, 0, 0];
        bytes.extend(id("null"));
        bytes.extend(u32::MAX.to_be_bytes());
        assert!(parse(&mut Reader::new(&bytes), 8).is_err());
    }
}
