//! The PSD/PSB file format: raw structures as stored, before any
//! interpretation.
//!
//! [`parse`] walks the five sections of the file (header, colour-mode data,
//! image resources, layer and mask information, merged image data) and
//! decodes every channel ([`channels`]). Meaning is given to the raw records
//! by [`crate::doc::build`].

pub mod channels;
pub mod descriptor;
pub mod reader;

use crate::color::ColorMode;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::render::raster::Rect;
use channels::{decode_channel, decode_merged, Channel};
use reader::Reader;

/// The file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Large document format (version 2).
    pub psb: bool,
    /// Channels in the merged image, including extra (alpha/spot) channels.
    pub channels: u16,
    /// Canvas height.
    pub height: u32,
    /// Canvas width.
    pub width: u32,
    /// Bits per channel: 1, 8, 16 or 32.
    pub depth: u8,
    /// Colour mode.
    pub mode: ColorMode,
}

/// One image resource block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource<'a> {
    /// Resource ID.
    pub id: u16,
    /// Its data.
    pub data: &'a [u8],
}

/// One tagged ("additional layer information") block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedBlock<'a> {
    /// Four-character key.
    pub key: [u8; 4],
    /// Its data.
    pub data: &'a [u8],
}

/// Layer mask data of a layer record.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskInfo {
    /// Bounds of the user mask.
    pub rect: Rect,
    /// Value outside the rect (0 or 255).
    pub default_color: u8,
    /// Flags: bit 0 position relative to layer, bit 1 disabled, bit 3 from
    /// vector data, bit 4 has parameters.
    pub flags: u8,
    /// User mask density (0..255), when stored.
    pub density: Option<u8>,
    /// User mask feather in pixels, when stored.
    pub feather: Option<f64>,
    /// Vector mask density, when stored.
    pub vector_density: Option<u8>,
    /// Vector mask feather, when stored.
    pub vector_feather: Option<f64>,
    /// Bounds and default of the "real" user mask when both a user and a
    /// vector mask exist.
    pub real: Option<(Rect, u8, u8)>,
}

/// One layer record with its decoded channels.
#[derive(Debug, Clone)]
pub struct LayerRecord<'a> {
    /// Bounds of the layer's pixels.
    pub rect: Rect,
    /// Channels: 0.. colour, -1 transparency, -2 user mask, -3 real user mask.
    pub channels: Vec<Channel>,
    /// Blend-mode key.
    pub blend_key: [u8; 4],
    /// Opacity 0..255.
    pub opacity: u8,
    /// 0 base, 1 clipped to the layer below.
    pub clipping: u8,
    /// Flags: bit 1 hidden, bit 3 bit 4 is useful, bit 4 pixel data irrelevant.
    pub flags: u8,
    /// Mask data.
    pub mask: Option<MaskInfo>,
    /// Blending ranges: composite gray then each channel, as (source, destination)
    /// `[black_lo, black_hi, white_lo, white_hi]` bytes.
    pub blending_ranges: Vec<([u8; 4], [u8; 4])>,
    /// Pascal name (legacy encoding).
    pub name: String,
    /// Tagged blocks of the layer.
    pub tagged: Vec<TaggedBlock<'a>>,
}

impl<'a> LayerRecord<'a> {
    /// The data of the first tagged block with `key`.
    pub fn block(&self, key: &[u8; 4]) -> Option<&'a [u8]> {
        self.tagged.iter().find(|b| &b.key == key).map(|b| b.data)
    }
}

/// A parsed file, borrowing from its bytes.
#[derive(Debug)]
pub struct PsdFile<'a> {
    /// The header.
    pub header: Header,
    /// Colour-mode data (palette for indexed, duotone specification).
    pub color_mode_data: &'a [u8],
    /// Image resources in file order.
    pub resources: Vec<Resource<'a>>,
    /// Layer records, bottom-most first.
    pub layers: Vec<LayerRecord<'a>>,
    /// True when the merged image's first extra channel is its transparency
    /// (negative layer count).
    pub merged_alpha: bool,
    /// Global tagged blocks (linked files, patterns, ...).
    pub tagged: Vec<TaggedBlock<'a>>,
    /// Merged image channels, when present.
    pub merged: Option<Vec<Channel>>,
}

impl<'a> PsdFile<'a> {
    /// The data of image resource `id`.
    pub fn resource(&self, id: u16) -> Option<&'a [u8]> {
        self.resources.iter().find(|r| r.id == id).map(|r| r.data)
    }
    /// Global tagged blocks with `key`.
    pub fn blocks<'s>(&'s self, key: &'s [u8; 4]) -> impl Iterator<Item = &'a [u8]> + 's {
        self.tagged
            .iter()
            .filter(move |b| &b.key == key)
            .map(|b| b.data)
    }
}

/// Tagged-block keys whose length is 8 bytes in PSB files.
const PSB_LONG_KEYS: &[&[u8; 4]] = &[
    b"LMsk", b"Lr16", b"Lr32", b"Layr", b"Mt16", b"Mt32", b"Mtrn", b"Alph", b"FMsk", b"lnk2",
    b"FEid", b"FXid", b"PxSD", b"lnkE", b"pths", b"cinf",
];

/// Parses a whole file.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<PsdFile<'a>> {
    parse_with_progress(bytes, limits, &mut |_| {})
}

/// [`parse`], calling `progress` with how many bytes of the file have been
/// read as the pixel data is decoded (for progress bars on big files).
pub fn parse_with_progress<'a>(
    bytes: &'a [u8],
    limits: &Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<PsdFile<'a>> {
    Error::check_limit(
        "file size in bytes",
        bytes.len() as u64,
        limits.max_file_bytes,
    )?;
    let mut r = Reader::new(bytes);
    let header = parse_header(&mut r, limits)?;
    let cmd_len = r.u32("colour mode data length")?;
    let color_mode_data = r.bytes(cmd_len as u64, "colour mode data")?;
    let res_len = r.u32("image resources length")?;
    let resources = parse_resources(r.sub(res_len as u64, "image resources")?)?;

    let mut budget = Budget {
        left: limits.max_decoded_bytes,
        progress,
    };
    let lmi_len = r.length(header.psb, "layer and mask information length")?;
    let mut lmi = r.sub(lmi_len, "layer and mask information")?;
    let (mut layers, mut merged_alpha, tagged) =
        parse_layer_and_mask(&mut lmi, &header, limits, &mut budget)?;

    // 16- and 32-bit documents keep their layers in an `Lr16`/`Lr32` block.
    if layers.is_empty() {
        if let Some(b) = tagged
            .iter()
            .find(|b| &b.key == b"Lr16" || &b.key == b"Lr32")
        {
            let (l, alpha) =
                parse_layer_info(&mut Reader::new(b.data), &header, limits, &mut budget)?;
            layers = l;
            merged_alpha |= alpha;
        }
    }

    let merged = if r.remaining() >= 2 {
        match decode_merged(&mut r, &header, limits, &mut budget) {
            Ok(m) => Some(m),
            // A damaged merged image leaves the layers usable.
            Err(Error::Truncated { .. }) | Err(Error::Decompress { .. }) if !layers.is_empty() => {
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };

    Ok(PsdFile {
        header,
        color_mode_data,
        resources,
        layers,
        merged_alpha,
        tagged,
        merged,
    })
}

/// Remaining decoded-bytes allowance for one document, and where to report
/// how far decoding has got.
pub struct Budget<'p> {
    /// Bytes left.
    pub left: u64,
    /// Called with the file offset reached after each channel.
    pub progress: &'p mut dyn FnMut(u64),
}

impl Budget<'_> {
    /// Takes `n` bytes from the allowance or fails.
    pub fn take(&mut self, n: u64, limit: u64) -> Result<()> {
        if n > self.left {
            return Err(Error::LimitExceeded {
                what: "decoded pixel data in bytes",
                actual: limit - self.left + n,
                limit,
            });
        }
        self.left -= n;
        Ok(())
    }
}

fn parse_header(r: &mut Reader<'_>, limits: &Limits) -> Result<Header> {
    let sig = r.array::<4>("signature")?;
    if &sig != b"8BPS" {
        return Err(Error::invalid(
            "signature",
            "not a Photoshop file (expected 8BPS)",
        ));
    }
    let version = r.u16("version")?;
    let psb = match version {
        1 => false,
        2 => true,
        v => {
            return Err(Error::invalid(
                "version",
                format!("{v}, expected 1 (PSD) or 2 (PSB)"),
            ))
        }
    };
    r.skip(6, "reserved")?;
    let channels = r.u16("channel count")?;
    if !(1..=56).contains(&channels) {
        return Err(Error::invalid(
            "channel count",
            format!("{channels}, expected 1 to 56"),
        ));
    }
    let height = r.u32("height")?;
    let width = r.u32("width")?;
    let max_side = if psb { 300_000 } else { 30_000 };
    for (what, v) in [("width", width), ("height", height)] {
        if v == 0 || v > max_side {
            return Err(Error::invalid(
                what,
                format!("{v}, expected 1 to {max_side}"),
            ));
        }
        Error::check_limit(
            if what == "width" {
                "canvas width"
            } else {
                "canvas height"
            },
            v as u64,
            limits.max_dimension as u64,
        )?;
    }
    Error::check_limit(
        "canvas pixels",
        width as u64 * height as u64,
        limits.max_canvas_pixels,
    )?;
    let depth = r.u16("depth")?;
    let depth = match depth {
        1 | 8 | 16 | 32 => depth as u8,
        d => {
            return Err(Error::invalid(
                "depth",
                format!("{d} bits, expected 1, 8, 16 or 32"),
            ))
        }
    };
    let mode_raw = r.u16("colour mode")?;
    let mode =
        ColorMode::from_u16(mode_raw).ok_or_else(|| Error::invalid("colour mode", mode_raw))?;
    if (mode == ColorMode::Bitmap) != (depth == 1) {
        return Err(Error::invalid(
            "depth",
            format!("{depth} bits with colour mode {mode:?}"),
        ));
    }
    Ok(Header {
        psb,
        channels,
        height,
        width,
        depth,
        mode,
    })
}

fn parse_resources(mut r: Reader<'_>) -> Result<Vec<Resource<'_>>> {
    let mut out = Vec::new();
    while r.remaining() >= 12 {
        let sig = r.array::<4>("image resource signature")?;
        if !matches!(&sig, b"8BIM" | b"MeSa" | b"AgHg" | b"PHUT" | b"DCSR") {
            return Err(Error::invalid(
                "image resource signature",
                String::from_utf8_lossy(&sig),
            ));
        }
        let id = r.u16("image resource id")?;
        r.pascal_string(2, "image resource name")?;
        let len = r.u32("image resource length")?;
        let data = r.bytes(len as u64, "image resource data")?;
        if len % 2 == 1 && !r.is_empty() {
            r.skip(1, "image resource padding")?;
        }
        out.push(Resource { id, data });
    }
    Ok(out)
}

type LayersAndBlocks<'a> = (Vec<LayerRecord<'a>>, bool, Vec<TaggedBlock<'a>>);

fn parse_layer_and_mask<'a>(
    r: &mut Reader<'a>,
    header: &Header,
    limits: &Limits,
    budget: &mut Budget<'_>,
) -> Result<LayersAndBlocks<'a>> {
    if r.is_empty() {
        return Ok((Vec::new(), false, Vec::new()));
    }
    let li_len = r.length(header.psb, "layer info length")?;
    let (layers, alpha) = if li_len > 0 {
        let mut li = r.sub(li_len, "layer info")?;
        parse_layer_info(&mut li, header, limits, budget)?
    } else {
        (Vec::new(), false)
    };
    // Global layer mask info.
    if r.remaining() >= 4 {
        let gm_len = r.u32("global layer mask length")?;
        r.skip(gm_len as u64, "global layer mask")?;
    }
    let tagged = parse_tagged_blocks(r, header.psb, 4)?;
    Ok((layers, alpha, tagged))
}

/// Parses tagged blocks until the reader is exhausted. Garbage shorter than
/// a block header at the end (padding) is ignored.
fn parse_tagged_blocks<'a>(
    r: &mut Reader<'a>,
    psb: bool,
    align: u64,
) -> Result<Vec<TaggedBlock<'a>>> {
    let mut out = Vec::new();
    while r.remaining() >= 12 {
        let sig = r.array::<4>("tagged block signature")?;
        if &sig != b"8BIM" && &sig != b"8B64" {
            // Some writers pad the section; anything after is not a block.
            break;
        }
        let key = r.array::<4>("tagged block key")?;
        let len = if psb && PSB_LONG_KEYS.contains(&&key) {
            r.u64("tagged block length")?
        } else {
            r.u32("tagged block length")? as u64
        };
        let data = r.bytes(len, "tagged block data")?;
        // Lengths are meant to be padded already; tolerate writers that
        // pad after an odd length.
        let pad = (align - len % align) % align;
        if pad > 0 && r.remaining() as u64 >= pad {
            let save = r.pos();
            let skipped = r.bytes(pad, "tagged block padding")?;
            if skipped.iter().any(|&b| b != 0) {
                r.seek(save, "tagged block padding")?;
            }
        }
        out.push(TaggedBlock { key, data });
    }
    Ok(out)
}

fn parse_layer_info<'a>(
    r: &mut Reader<'a>,
    header: &Header,
    limits: &Limits,
    budget: &mut Budget<'_>,
) -> Result<(Vec<LayerRecord<'a>>, bool)> {
    if r.is_empty() {
        return Ok((Vec::new(), false));
    }
    let count = r.i16("layer count")?;
    let merged_alpha = count < 0;
    let count = count.unsigned_abs() as u32;
    Error::check_limit("layer count", count as u64, limits.max_layers as u64)?;
    // A record is at least 34 bytes: refuse counts the section cannot hold.
    if count as u64 * 34 > r.remaining() as u64 {
        return Err(Error::invalid(
            "layer count",
            format!("{count} layers cannot fit in {} bytes", r.remaining()),
        ));
    }
    let mut records = Vec::with_capacity(count as usize);
    let mut lengths = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (rec, lens) = parse_layer_record(r, header, limits)?;
        records.push(rec);
        lengths.push(lens);
    }
    for (rec, lens) in records.iter_mut().zip(lengths) {
        let mask_rect = rec.mask.as_ref().map(|m| m.rect);
        let real_rect = rec.mask.as_ref().and_then(|m| m.real.map(|(r, _, _)| r));
        let mut channels = Vec::with_capacity(lens.len());
        for (id, len) in lens {
            let mut data = r.sub(len, "channel image data")?;
            let rect = match id {
                -2 => mask_rect.unwrap_or_default(),
                -3 => real_rect.or(mask_rect).unwrap_or_default(),
                _ => rec.rect,
            };
            channels.push(decode_channel(&mut data, id, rect, header, limits, budget)?);
            (budget.progress)(data.offset());
        }
        rec.channels = channels;
    }
    Ok((records, merged_alpha))
}

fn read_rect(r: &mut Reader<'_>, context: &'static str) -> Result<Rect> {
    let top = r.i32(context)?;
    let left = r.i32(context)?;
    let bottom = r.i32(context)?;
    let right = r.i32(context)?;
    if bottom < top || right < left {
        return Err(Error::invalid(
            context,
            format!("inverted rectangle ({left}, {top}, {right}, {bottom})"),
        ));
    }
    Ok(Rect {
        left,
        top,
        right,
        bottom,
    })
}

fn read_rect_lenient(r: &mut Reader<'_>, context: &'static str) -> Result<Rect> {
    let top = r.i32(context)?;
    let left = r.i32(context)?;
    let bottom = r.i32(context)?;
    let right = r.i32(context)?;
    if bottom < top || right < left {
        return Ok(Rect::default());
    }
    Ok(Rect {
        left,
        top,
        right,
        bottom,
    })
}

type ChannelLengths = Vec<(i16, u64)>;

fn parse_layer_record<'a>(
    r: &mut Reader<'a>,
    header: &Header,
    limits: &Limits,
) -> Result<(LayerRecord<'a>, ChannelLengths)> {
    let rect = read_rect(r, "layer bounds")?;
    for (what, v) in [
        ("layer width", rect.width()),
        ("layer height", rect.height()),
    ] {
        Error::check_limit(what, v as u64, limits.max_dimension as u64 * 2)?;
    }
    Error::check_limit("layer pixels", rect.area(), limits.max_layer_pixels)?;
    let nch = r.u16("layer channel count")?;
    if nch > 56 {
        return Err(Error::invalid(
            "layer channel count",
            format!("{nch}, expected at most 56"),
        ));
    }
    let mut lens = Vec::with_capacity(nch as usize);
    for _ in 0..nch {
        let id = r.i16("channel id")?;
        let len = r.length(header.psb, "channel length")?;
        lens.push((id, len));
    }
    let sig = r.array::<4>("blend mode signature")?;
    if &sig != b"8BIM" {
        return Err(Error::invalid(
            "blend mode signature",
            String::from_utf8_lossy(&sig),
        ));
    }
    let blend_key = r.array::<4>("blend mode key")?;
    let opacity = r.u8("opacity")?;
    let clipping = r.u8("clipping")?;
    let flags = r.u8("layer flags")?;
    r.skip(1, "filler")?;
    let extra_len = r.u32("extra data length")?;
    let mut extra = r.sub(extra_len as u64, "layer extra data")?;

    let mask_len = extra.u32("layer mask data length")?;
    let mask = if mask_len > 0 {
        let has_real = lens.iter().any(|&(id, _)| id == -3);
        Some(parse_mask_info(
            extra.sub(mask_len as u64, "layer mask data")?,
            has_real,
        )?)
    } else {
        None
    };

    let br_len = extra.u32("blending ranges length")?;
    let mut br = extra.sub(br_len as u64, "blending ranges")?;
    let mut blending_ranges = Vec::new();
    while br.remaining() >= 8 {
        let src = br.array::<4>("blending range")?;
        let dst = br.array::<4>("blending range")?;
        blending_ranges.push((src, dst));
    }

    let name = extra.pascal_string(4, "layer name")?;
    let tagged = parse_tagged_blocks(&mut extra, header.psb, 2)?;
    Ok((
        LayerRecord {
            rect,
            channels: Vec::new(),
            blend_key,
            opacity,
            clipping,
            flags,
            mask,
            blending_ranges,
            name,
            tagged,
        },
        lens,
    ))
}

/// Mask data. The "real" mask header is present only when the layer stores a
/// real-user-mask (-3) channel: the block length alone is ambiguous because
/// the parameters that follow vary in size.
fn parse_mask_info(mut r: Reader<'_>, has_real: bool) -> Result<MaskInfo> {
    // Photoshop writes inverted bounds such as (0, 0, 0, -1) for masks with
    // no pixels: read them as empty.
    let rect = read_rect_lenient(&mut r, "layer mask bounds")?;
    let default_color = r.u8("mask default colour")?;
    let flags = r.u8("mask flags")?;
    let mut info = MaskInfo {
        rect,
        default_color,
        flags,
        density: None,
        feather: None,
        vector_density: None,
        vector_feather: None,
        real: None,
    };
    if has_real && r.remaining() >= 18 {
        let real_flags = r.u8("real mask flags")?;
        let real_default = r.u8("real mask default colour")?;
        let real_rect = read_rect_lenient(&mut r, "real mask bounds")?;
        info.real = Some((real_rect, real_default, real_flags));
    }
    if flags & 0x10 != 0 && !r.is_empty() {
        let params = r.u8("mask parameters")?;
        if params & 1 != 0 {
            info.density = Some(r.u8("user mask density")?);
        }
        if params & 2 != 0 {
            info.feather = Some(r.f64("user mask feather")?);
        }
        if params & 4 != 0 {
            info.vector_density = Some(r.u8("vector mask density")?);
        }
        if params & 8 != 0 {
            info.vector_feather = Some(r.f64("vector mask feather")?);
        }
    }
    Ok(info)
}
