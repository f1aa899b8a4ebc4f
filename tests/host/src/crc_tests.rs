// SPDX-License-Identifier: GPL-2.0

//! Tests of `gpu/crc.rs`: the CRC source's composer (cursor over primary, as cairo blends)
//! and its CRCs.

use crate::crc::{self, Cursor};

/// Every tile of row `y` computed, then the row's CRC (what the driver's scene holds).
fn row_crc(primary: &[u32], width: u32, y: u32, cursor: Option<&Cursor<'_>>) -> Option<u32> {
    let tiles: Option<Vec<u32>> = (0..crc::tiles_per_row(width))
        .map(|t| crc::tile_crc(primary, width, y, t, cursor))
        .collect();
    Some(crc::row_from_tiles(&tiles?))
}

#[test]
fn crc32_is_the_zlib_one() {
    let crc32 = |b: &[u8]| !crc::crc32_update(!0, b);
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn over_blends_premultiplied_as_pixman() {
    // Opaque replaces, transparent leaves, the X byte of the result is 0xff.
    assert_eq!(crc::over(0xff12_3456, 0x00ab_cdef), 0xff12_3456);
    assert_eq!(crc::over(0x0000_0000, 0x00ab_cdef), 0xffab_cdef);
    // Half-transparent red (premultiplied: 0x80 red at alpha 0x80) over blue.
    assert_eq!(crc::over(0x8080_0000, 0xff00_00ff), 0xff80_007f);
    // pixman rounds a * b / 255: 200 * 100 / 255 = 78.4 -> 78; 255 * 100 / 255 = 100;
    // 1 * 128 / 255 = 0.502 -> 1.
    assert_eq!(crc::over(0x9b00_0000, 0xff00_c8ff), 0xff00_4e64);
    assert_eq!(crc::over(0x7f00_0000, 0xff00_0001), 0xff00_0001);
    // A value that is not premultiplied saturates instead of wrapping.
    assert_eq!(crc::over(0x80ff_0000, 0xffff_0000), 0xffff_0000);
}

#[test]
fn the_x_byte_of_the_primary_is_ignored() {
    let a = [0x0011_2233u32, 0x7f44_5566];
    let b = [0xff11_2233u32, 0x0044_5566];
    assert_eq!(row_crc(&a, 2, 0, None), row_crc(&b, 2, 0, None));
}

/// A `w` x `h` primary with a different colour per pixel.
fn primary(w: u32, h: u32) -> Vec<u32> {
    (0..w * h)
        .map(|i| i.wrapping_mul(0x9e37_79b9) & 0x00ff_ffff)
        .collect()
}

/// Every row's CRC, the cursor (if any) blended.
fn rows_of(p: &[u32], w: u32, h: u32, c: Option<&Cursor<'_>>) -> Vec<u32> {
    (0..h)
        .map(|y| row_crc(&p[(y * w) as usize..], w, y, c).unwrap())
        .collect()
}

/// The composed picture, by the plain definition: each pixel of the primary with the cursor
/// pixel over it where the cursor is.
fn composed(p: &[u32], w: u32, h: u32, c: &Cursor<'_>) -> Vec<u32> {
    let mut out = Vec::new();
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let mut px = p[(y as u32 * w + x as u32) as usize] | 0xff00_0000;
            let (cx, cy) = (x - c.x, y - c.y);
            if cx >= 0 && cy >= 0 && (cx as u32) < c.width && (cy as u32) < c.height {
                px = crc::over(c.pixels[(cy as u32 * c.width + cx as u32) as usize], px);
            }
            out.push(px);
        }
    }
    out
}

#[test]
fn a_cursor_is_blended_where_it_is_also_partly_off_the_head() {
    let (w, h) = (8, 6);
    let p = primary(w, h);
    let img: Vec<u32> = (0..16)
        .map(|i| if i % 3 == 0 { 0 } else { 0xff00_ff00 + i })
        .collect();
    for (x, y) in [(0, 0), (6, 4), (-2, -3), (7, 5), (-4, 0), (8, 6), (3, -4)] {
        let c = Cursor {
            pixels: &img,
            width: 4,
            height: 4,
            x,
            y,
        };
        let by_rows = rows_of(&p, w, h, Some(&c));
        let plain = composed(&p, w, h, &c);
        let want: Vec<u32> = (0..h)
            .map(|y| {
                let row = &plain[(y * w) as usize..((y + 1) * w) as usize];
                row_crc(row, w, y, None).unwrap()
            })
            .collect();
        assert_eq!(by_rows, want, "cursor at ({x}, {y})");
        let covered: Vec<u32> = c.rows(h).collect();
        let expect: Vec<u32> = (0..h as i32)
            .filter(|r| *r >= y && *r < y + 4)
            .map(|r| r as u32)
            .collect();
        assert_eq!(covered, expect, "rows of the cursor at ({x}, {y})");
    }
}

#[test]
fn a_cursor_move_needs_only_the_tiles_it_left_and_entered() {
    let (w, h) = (200, 12); // 4 tiles a row, the last one short
    let nt = crc::tiles_per_row(w);
    assert_eq!(nt, 4);
    let p = primary(w, h);
    let img = vec![0xc040_8020u32; 9 * 70];
    let at = |x, y| Cursor {
        pixels: &img,
        width: 70,
        height: 9,
        x,
        y,
    };
    let tiles_of = |c: Option<&Cursor<'_>>| -> Vec<u32> {
        (0..h)
            .flat_map(|y| {
                let p = &p;
                (0..nt).map(move |t| crc::tile_crc(&p[(y * w) as usize..], w, y, t, c).unwrap())
            })
            .collect()
    };
    for (a, b) in [
        (at(2, 1), at(120, 3)),
        (at(-30, -4), at(150, 10)),
        (at(190, 0), at(0, 0)),
    ] {
        let mut cached = tiles_of(Some(&a));
        for c in [&a, &b] {
            for y in c.rows(h) {
                for t in c.tiles(w) {
                    cached[(y * nt + t) as usize] =
                        crc::tile_crc(&p[(y * w) as usize..], w, y, t, Some(&b)).unwrap();
                }
            }
        }
        assert_eq!(cached, tiles_of(Some(&b)));
        let rows: Vec<u32> = cached
            .chunks(nt as usize)
            .map(crc::row_from_tiles)
            .collect();
        assert_eq!(rows, rows_of(&p, w, h, Some(&b)));
    }
    // The tiles a cursor covers: partly off the left, across a boundary, off the right.
    assert_eq!(at(-30, 0).tiles(w), 0..1);
    assert_eq!(at(60, 0).tiles(w), 0..3);
    assert_eq!(at(190, 0).tiles(w), 2..4);
    assert_eq!(at(200, 0).tiles(w), 0..0);
}

#[test]
fn frame_crcs_tell_pictures_apart() {
    let (w, h) = (8, 6);
    let p = primary(w, h);
    let base = crc::frame_crc(w, h, &rows_of(&p, w, h, None)).unwrap();
    assert_eq!(
        base,
        crc::frame_crc(w, h, &rows_of(&p.clone(), w, h, None)).unwrap()
    );
    let mut q = p.clone();
    q[17] ^= 1;
    assert_ne!(
        base,
        crc::frame_crc(w, h, &rows_of(&q, w, h, None)).unwrap()
    );
    // The same pixels in another shape are another picture.
    assert_ne!(
        base,
        crc::frame_crc(h, w, &rows_of(&p, h, w, None)).unwrap()
    );
    let img = [0u32; 4];
    let clear = Cursor {
        pixels: &img,
        width: 2,
        height: 2,
        x: 3,
        y: 3,
    };
    assert_eq!(
        base,
        crc::frame_crc(w, h, &rows_of(&p, w, h, Some(&clear))).unwrap()
    );
}

#[test]
fn short_inputs_give_none_not_a_panic() {
    assert_eq!(row_crc(&[1, 2], 3, 0, None), None);
    assert_eq!(crc::frame_crc(4, 3, &[1, 2]), None);
    let img = [0xffff_ffffu32; 3];
    let c = Cursor {
        pixels: &img,
        width: 2,
        height: 2,
        x: 0,
        y: 0,
    };
    assert_eq!(row_crc(&[0; 2], 2, 1, Some(&c)), None);
}
