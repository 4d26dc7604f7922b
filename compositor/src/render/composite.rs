//! The layer-tree compositor.
