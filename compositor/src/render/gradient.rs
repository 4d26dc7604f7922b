//! Gradients (`Grdn` descriptors): shared by gradient fills, gradient
//! overlays and gradient maps.

use crate::color::ColorInfo;
use crate::error::Result;
use crate::psd::descriptor::Descriptor;
use crate::render::raster::Color;

/// A colour gradient with its colour and transparency stops.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    /// Colour stops: location 0..1 and working-space colour.
    pub stops: Vec<(f32, Color)>,
    /// Opacity stops: location 0..1 and opacity 0..1.
    pub alpha_stops: Vec<(f32, f32)>,
}

impl Gradient {
    /// Parses a `Grdn` gradient descriptor.
    ///
    /// Placeholder until the gradient module lands: black to white.
    pub fn from_descriptor(desc: &Descriptor, info: &ColorInfo) -> Result<Gradient> {
        let _ = (desc, info);
        Ok(Gradient {
            stops: vec![(0.0, [0.0; 4]), (1.0, [1.0, 1.0, 1.0, 0.0])],
            alpha_stops: vec![(0.0, 1.0), (1.0, 1.0)],
        })
    }

    /// Colour and opacity at position `t` (0..1).
    pub fn sample(&self, t: f32) -> (Color, f32) {
        let t = t.clamp(0.0, 1.0);
        let mut c = [0.0; 4];
        for k in 0..4 {
            c[k] = self.stops[0].1[k] * (1.0 - t) + self.stops[self.stops.len() - 1].1[k] * t;
        }
        (c, 1.0)
    }
}
