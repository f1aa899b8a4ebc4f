// SPDX-License-Identifier: GPL-2.0

//! The CRC source's composer: what a head shows, composed in the guest from exactly what the
//! device was told to show (the primary plane's pixels in its source rectangle, the cursor
//! image at its position), and a CRC of it, as vkms does for its planes. Pure functions over
//! slices, so the host tests them.
//!
//! Pixels are `u32` in the framebuffers' layout: XRGB8888 for the primary plane (the X byte
//! is ignored: it reads as 0xff), ARGB8888 with premultiplied alpha for the cursor (DRM's
//! default blend mode). The cursor is blended over the primary as pixman's (and so cairo's)
//! `OVER` operator does it: per channel `d = s + d * (255 - s_alpha) / 255`, the product
//! rounded as pixman's `MUL_UN8` and the sum saturated, which is what igt's reference
//! pictures (drawn with cairo) hold.
//!
//! The CRC is built in three levels of CRC-32 (IEEE 802.3, the zlib one): of each tile of
//! [`TILE`] pixels of a row (each pixel as four little-endian bytes), of each row's tile
//! CRCs, and of the width, the height and the rows' CRCs. A cursor move recomputes only the
//! tiles the cursor covered and covers (two or three per row), which keeps a CRC per cursor
//! update cheap enough for igt's rapid-movement test under TCG.

#![forbid(unsafe_code)]

/// The CRC-32 table (reflected polynomial 0xedb88320), built at compile time.
const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Feeds `bytes` into a running CRC-32 state `c` (start with `!0`, finish with `!`).
pub(crate) fn crc32_update(mut c: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    c
}

/// pixman's `MUL_UN8`: `a * b / 255`, rounded.
fn mul_un8(a: u32, b: u32) -> u32 {
    let t = a * b + 0x80;
    ((t >> 8) + t) >> 8
}

/// Premultiplied `src` (ARGB8888) over opaque `dst` (XRGB8888): the result as XRGB8888 with
/// the X byte 0xff.
pub(crate) fn over(src: u32, dst: u32) -> u32 {
    let ia = 255 - (src >> 24);
    let mut out = 0xff00_0000;
    for shift in [0, 8, 16] {
        let s = (src >> shift) & 0xff;
        let d = (dst >> shift) & 0xff;
        out |= (s + mul_un8(d, ia)).min(255) << shift;
    }
    out
}

/// The cursor as the device was told to show it: `width` x `height` ARGB8888 pixels
/// (`pixels`, row after row) with its top left corner at (`x`, `y`) on the head (possibly
/// partly or wholly off it).
#[derive(Clone, Copy)]
pub(crate) struct Cursor<'a> {
    /// The image, `width * height` pixels.
    pub(crate) pixels: &'a [u32],
    /// Width in pixels.
    pub(crate) width: u32,
    /// Height in pixels.
    pub(crate) height: u32,
    /// Column of the top left corner on the head.
    pub(crate) x: i32,
    /// Row of the top left corner on the head.
    pub(crate) y: i32,
}

impl Cursor<'_> {
    /// The rows of a `head_height`-row head the cursor covers, as a half-open range.
    pub(crate) fn rows(&self, head_height: u32) -> core::ops::Range<u32> {
        let top = i64::from(self.y).clamp(0, i64::from(head_height));
        let bottom = (i64::from(self.y) + i64::from(self.height)).clamp(0, i64::from(head_height));
        top as u32..bottom as u32
    }
}

/// Pixels per tile of a row.
pub(crate) const TILE: u32 = 64;

/// How many tiles a row of `width` pixels has.
pub(crate) fn tiles_per_row(width: u32) -> u32 {
    width.div_ceil(TILE)
}

/// The part of `0..len` that `start..start + size` covers (empty if none).
fn span(start: i32, size: u32, len: u32) -> core::ops::Range<u32> {
    let a = i64::from(start).clamp(0, i64::from(len));
    let b = (i64::from(start) + i64::from(size)).clamp(0, i64::from(len));
    a as u32..b as u32
}

impl Cursor<'_> {
    /// The tiles of a row of a `head_width`-pixel head the cursor covers.
    pub(crate) fn tiles(&self, head_width: u32) -> core::ops::Range<u32> {
        let cols = span(self.x, self.width, head_width);
        if cols.is_empty() {
            return 0..0;
        }
        cols.start / TILE..cols.end.div_ceil(TILE)
    }
}

/// The CRC of tile `t` of row `y` of a head `width` pixels wide whose primary plane shows
/// `primary` (the row's pixels, XRGB8888), with `cursor` blended over it where it covers the
/// tile. `None` if the slices are too short or the tile is past the row's end.
pub(crate) fn tile_crc(
    primary: &[u32],
    width: u32,
    y: u32,
    t: u32,
    cursor: Option<&Cursor<'_>>,
) -> Option<u32> {
    let x0 = t.checked_mul(TILE)?;
    if x0 >= width {
        return None;
    }
    let x1 = x0.saturating_add(TILE).min(width);
    let tile = primary.get(x0 as usize..x1 as usize)?;
    let cur = cursor.filter(|c| {
        let cy = i64::from(y) - i64::from(c.y);
        (0..i64::from(c.height)).contains(&cy)
    });
    let mut c = !0u32;
    for (i, &p) in tile.iter().enumerate() {
        let x = i64::from(x0) + i as i64;
        let mut px = p | 0xff00_0000;
        if let Some(cu) = cur {
            let cx = x - i64::from(cu.x);
            let cy = i64::from(y) - i64::from(cu.y);
            if (0..i64::from(cu.width)).contains(&cx) && (0..i64::from(cu.height)).contains(&cy) {
                let i = cy as usize * cu.width as usize + cx as usize;
                px = over(*cu.pixels.get(i)?, px);
            }
        }
        c = crc32_update(c, &px.to_le_bytes());
    }
    Some(!c)
}

/// The CRC of a row from its tiles' CRCs.
pub(crate) fn row_from_tiles(tiles: &[u32]) -> u32 {
    let mut c = !0u32;
    for t in tiles {
        c = crc32_update(c, &t.to_le_bytes());
    }
    !c
}

/// The CRC of a `width` x `height` picture from the CRCs of its rows (`rows`, one per row).
pub(crate) fn frame_crc(width: u32, height: u32, rows: &[u32]) -> Option<u32> {
    let rows = rows.get(..height as usize)?;
    let mut c = crc32_update(!0, &width.to_le_bytes());
    c = crc32_update(c, &height.to_le_bytes());
    for r in rows {
        c = crc32_update(c, &r.to_le_bytes());
    }
    Some(!c)
}
