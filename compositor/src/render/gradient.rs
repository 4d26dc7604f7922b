//! Gradients (`Grdn` descriptors): shared by gradient fills, gradient
//! overlays and gradient maps.
