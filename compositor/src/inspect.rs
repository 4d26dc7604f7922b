//! JSON description of a template (`mockup inspect`).
