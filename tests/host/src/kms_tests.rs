// SPDX-License-Identifier: GPL-2.0

//! Tests of the display pipeline's pure parts: modes (as the C driver's
//! `virtio_gpu_conn_get_modes`/`mode_valid`), the EDID size, damage uploads.

use crate::modes::{self, edid_bytes, mode_valid, preferred, Preferred};
use crate::protocol::Rect;
use crate::scanout::{transfer_in_backing, upload, Damage, FbLayout, Upload};

#[test]
fn preferred_mode_defaults_without_host_size() {
    assert_eq!(preferred(0, 0), Preferred::Default);
    assert_eq!(preferred(1280, 0), Preferred::Default);
    assert_eq!(preferred(0, 800), Preferred::Default);
    assert_eq!(
        preferred(1280, 800),
        Preferred::Cvt {
            width: 1280,
            height: 800
        }
    );
}

#[test]
fn non_preferred_modes_are_always_valid() {
    assert!(mode_valid(false, 8192, 8192, 1024, 768));
    assert!(mode_valid(false, 640, 480, 0, 0));
}

#[test]
fn preferred_default_mode_is_valid() {
    assert!(mode_valid(
        true,
        modes::XRES_DEF,
        modes::YRES_DEF,
        1920,
        1080
    ));
    assert!(mode_valid(true, modes::XRES_DEF, modes::YRES_DEF, 0, 0));
}

#[test]
fn preferred_mode_within_16_pixels_below_host_size() {
    // CVT rounds 1366 down to 1360: still the host's mode.
    assert!(mode_valid(true, 1360, 768, 1366, 768));
    assert!(mode_valid(true, 1280, 800, 1280, 800));
    assert!(mode_valid(true, 1264, 784, 1280, 800));
    assert!(!mode_valid(true, 1263, 800, 1280, 800));
    assert!(!mode_valid(true, 1280, 783, 1280, 800));
    assert!(!mode_valid(true, 1281, 800, 1280, 800));
    // No host size: only the default size is a valid preferred mode (no underflow).
    assert!(!mode_valid(true, 8, 8, 0, 0));
    // A 0x0 preferred mode on a head without size is within the slack (as in C).
    assert!(mode_valid(true, 0, 0, 0, 0));
}

fn edid(extensions: u8, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    if len > 126 {
        v[126] = extensions;
    }
    v
}

#[test]
fn edid_trimmed_to_announced_blocks() {
    // QEMU answers with its whole 1024-byte buffer; the EDID is the base block plus one
    // extension.
    let raw = edid(1, 1024);
    assert_eq!(edid_bytes(&raw).len(), 256);
    assert_eq!(edid_bytes(&edid(0, 1024)).len(), 128);
    assert_eq!(edid_bytes(&edid(0, 128)).len(), 128);
}

#[test]
fn edid_truncated_or_missing() {
    assert!(edid_bytes(&[]).is_empty());
    assert!(edid_bytes(&[0u8; 100]).is_empty());
    assert!(edid_bytes(&[0u8; 127]).is_empty());
    // Announces 255 extensions but holds 3 blocks and a bit: whole blocks only.
    assert_eq!(edid_bytes(&edid(255, 3 * 128 + 5)).len(), 384);
}

const FB: FbLayout = FbLayout {
    width: 1024,
    height: 768,
    pitch: 4096,
    cpp: 4,
    offset: 0,
};

#[test]
fn full_upload_of_a_new_framebuffer() {
    let d = Damage {
        x1: 0,
        y1: 0,
        x2: 1024,
        y2: 768,
    };
    assert_eq!(
        upload(d, FB),
        Some(Upload {
            rect: Rect {
                x: 0,
                y: 0,
                width: 1024,
                height: 768
            },
            offset: 0
        })
    );
}

#[test]
fn damage_offset_is_row_and_column() {
    let d = Damage {
        x1: 10,
        y1: 20,
        x2: 30,
        y2: 25,
    };
    let u = upload(d, FB).unwrap();
    assert_eq!(u.offset, 20 * 4096 + 10 * 4);
    assert_eq!(
        u.rect,
        Rect {
            x: 10,
            y: 20,
            width: 20,
            height: 5
        }
    );
    let fb = FbLayout { offset: 64, ..FB };
    assert_eq!(upload(d, fb).unwrap().offset, 64 + 20 * 4096 + 10 * 4);
}

#[test]
fn damage_clamped_to_framebuffer() {
    let d = Damage {
        x1: -5,
        y1: -7,
        x2: 5000,
        y2: 9000,
    };
    let u = upload(d, FB).unwrap();
    assert_eq!(
        u.rect,
        Rect {
            x: 0,
            y: 0,
            width: 1024,
            height: 768
        }
    );
    assert_eq!(u.offset, 0);
}

#[test]
fn empty_or_outside_damage_uploads_nothing() {
    let empty = Damage {
        x1: 5,
        y1: 5,
        x2: 5,
        y2: 9,
    };
    assert_eq!(upload(empty, FB), None);
    let inverted = Damage {
        x1: 9,
        y1: 9,
        x2: 5,
        y2: 5,
    };
    assert_eq!(upload(inverted, FB), None);
    let outside = Damage {
        x1: 2000,
        y1: 0,
        x2: 3000,
        y2: 10,
    };
    assert_eq!(upload(outside, FB), None);
}

#[test]
fn huge_layout_does_not_wrap() {
    let fb = FbLayout {
        width: u32::MAX,
        height: u32::MAX,
        pitch: u32::MAX,
        cpp: u32::MAX,
        offset: u32::MAX,
    };
    let d = Damage {
        x1: i32::MAX - 1,
        y1: i32::MAX - 1,
        x2: i32::MAX,
        y2: i32::MAX,
    };
    let u = upload(d, fb).unwrap();
    let expect = u64::from(u32::MAX)
        + (i32::MAX as u64 - 1) * u64::from(u32::MAX)
        + (i32::MAX as u64 - 1) * u64::from(u32::MAX);
    assert_eq!(u.offset, expect);
}

/// The pipeline's one rectangle type: widths of empty and inverted rectangles are 0, a huge one
/// saturates, and the wire rectangle of a DRM rectangle is its part right of and below 0.
#[test]
fn drm_rect_sizes_and_wire_rect() {
    use crate::rect::DrmRect;
    use crate::scanout::wire_rect;
    let r = DrmRect {
        x1: 10,
        y1: 20,
        x2: 110,
        y2: 70,
    };
    assert_eq!((r.width(), r.height()), (100, 50));
    let inverted = DrmRect {
        x1: 5,
        y1: 5,
        x2: 1,
        y2: 1,
    };
    assert_eq!((inverted.width(), inverted.height()), (0, 0));
    let w = wire_rect(r);
    assert_eq!((w.x, w.y, w.width, w.height), (10, 20, 100, 50));
    let off = wire_rect(DrmRect {
        x1: -4,
        y1: -2,
        x2: 6,
        y2: 8,
    });
    assert_eq!((off.x, off.y, off.width, off.height), (0, 0, 6, 8));
    let extreme = DrmRect {
        x1: i32::MIN,
        y1: 0,
        x2: i32::MAX,
        y2: 1,
    };
    assert_eq!(extreme.width(), i32::MAX as u32);
}

/// `modes::refresh_valid` of `refresh_mhz`: the igt `kms_invalid_mode` cases are refused,
/// real modes pass.
#[test]
fn mode_timing_refuses_absurd_clocks_and_totals() {
    use crate::modes::{refresh_mhz, refresh_valid};
    let timing_valid = |c, h, v, s, i, d| refresh_valid(refresh_mhz(c, h, v, s, i, d));
    // 1024x768@75 (DMT): 78750 kHz, 1312 x 800.
    assert_eq!(
        refresh_mhz(78_750, 1312, 800, 0, false, false),
        Some(75_028)
    );
    assert!(timing_valid(78_750, 1312, 800, 0, false, false));
    // 1920x1080@60 (CEA): 148500 kHz, 2200 x 1125.
    assert!(timing_valid(148_500, 2200, 1125, 1, false, false));
    // Interlaced 1080i: half the frame rate's lines per field, twice the fields.
    assert_eq!(
        refresh_mhz(74_250, 2200, 1125, 0, true, false),
        Some(60_000)
    );
    // igt int-max-clock: about 2 MHz of refresh on 1024x768's totals.
    assert!(!timing_valid(i32::MAX, 1344, 806, 0, false, false));
    // igt uint-max-clock (the core refuses it first; as an int it is -1) and zero-clock.
    assert!(!timing_valid(-1, 1344, 806, 0, false, false));
    assert!(!timing_valid(0, 1344, 806, 0, false, false));
    // igt overflow-vrefresh: 32768 x 32768 x vscan 4 is 2^32, 0 in 32 bits; here 0.015 Hz.
    assert!(refresh_mhz(65_000, 32768, 32768, 4, false, false).is_some_and(|r| r < 1000));
    assert!(!timing_valid(65_000, 32768, 32768, 4, false, false));
    // Totals of 0 give no rate; the largest totals and clock do not overflow.
    assert_eq!(refresh_mhz(65_000, 0, 806, 0, false, false), None);
    assert!(refresh_mhz(i32::MAX, u16::MAX, u16::MAX, u16::MAX, true, true).is_some());
    // The limits themselves: 1 Hz and 1000 Hz pass, just outside does not.
    assert!(timing_valid(1, 1, 1000, 0, false, false));
    assert!(!timing_valid(1, 1, 1001, 0, false, false));
    assert!(timing_valid(1, 1, 1, 0, false, false));
    assert!(timing_valid(1000, 1, 1000, 0, false, false));
    assert!(!timing_valid(1001, 1, 1000, 0, false, false));
}

fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
    Rect {
        x,
        y,
        width,
        height,
    }
}

#[test]
fn transfer_of_a_whole_dumb_buffer_fits() {
    // 64x64 at 4 bytes: 16384 bytes, rows 256 apart.
    assert!(transfer_in_backing(64, 16384, rect(0, 0, 64, 64), 0));
    // The last row's last pixel.
    assert!(transfer_in_backing(
        64,
        16384,
        rect(63, 63, 1, 1),
        63 * 256 + 63 * 4
    ));
    assert!(transfer_in_backing(64, 16384, rect(0, 0, 0, 0), u64::MAX));
}

#[test]
fn transfer_past_the_backing_is_refused() {
    // One byte more than the backing.
    assert!(!transfer_in_backing(64, 16383, rect(0, 0, 64, 64), 0));
    // The fuzzer's case that stopped QEMU 7.2: a 256 pixels wide resource with one page of
    // backing (VIRTGPU_RESOURCE_CREATE's size 0), 16 rows from offset 0.
    assert!(!transfer_in_backing(256, 4096, rect(0, 0, 16, 16), 0));
    assert!(transfer_in_backing(256, 4096, rect(0, 0, 16, 4), 0));
    // A framebuffer at the end of its buffer with a pitch below the resource's stride: its
    // rows as the host reads them run past the end.
    assert!(!transfer_in_backing(64, 16384, rect(0, 0, 16, 16), 15360));
    // Empty rows still start somewhere: past the end is refused.
    assert!(!transfer_in_backing(64, 16384, rect(0, 0, 0, 2), 16384));
    // Offsets and strides that overflow.
    assert!(!transfer_in_backing(
        64,
        u64::MAX,
        rect(0, 0, 1, 1),
        u64::MAX
    ));
    assert!(!transfer_in_backing(
        u32::MAX,
        u64::MAX,
        rect(0, 0, 1, u32::MAX),
        u64::MAX / 2
    ));
}
