//! Rendering a symbol as SVG (for the page) and as a PGM bitmap (for decoders in tests).
//!
//! Both include the quiet zone of 4 light modules on every side (ISO/IEC 18004:2015 6.3.8).

use std::fmt::Write;

use super::QrCode;

/// Light modules around the symbol (6.3.8: "4X wide").
pub const QUIET_ZONE: usize = 4;

/// An SVG in module units: a white square covering symbol and quiet zone, and one black
/// `<path>` made of each row's runs of dark modules (unions of unit squares), with
/// `shape-rendering="crispEdges"` so that edges stay sharp. No width or height: CSS sizes it.
pub(crate) fn to_svg(code: &QrCode) -> String {
    let full = code.size() + 2 * QUIET_ZONE;
    let mut path = String::new();
    for y in 0..code.size() {
        let mut x = 0;
        while x < code.size() {
            if !code.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while code.is_dark(x, y) {
                x += 1;
            }
            let run = x - start;
            // Writing to a String cannot fail.
            let _ = write!(path, "M{},{}h{run}v1h-{run}z", start + QUIET_ZONE, y + QUIET_ZONE);
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    )
}

/// A binary PGM (P5) image, `scale` pixels per module (at least 1), quiet zone included,
/// dark modules 0 and light ones 255.
pub(crate) fn to_pgm(code: &QrCode, scale: usize) -> Vec<u8> {
    let scale = scale.max(1);
    let side = (code.size() + 2 * QUIET_ZONE) * scale;
    let mut out = format!("P5\n{side} {side}\n255\n").into_bytes();
    out.reserve(side * side);
    for py in 0..side {
        for px in 0..side {
            let (x, y) = ((px / scale).wrapping_sub(QUIET_ZONE), (py / scale).wrapping_sub(QUIET_ZONE));
            out.push(if code.is_dark(x, y) { 0 } else { 255 });
        }
    }
    out
}
