// SPDX-License-Identifier: GPL-2.0

//! Property tests of `gpu/protocol.rs`: encoding round-trips through a decoder written here
//! from the C header's offsets, and the response parsers never panic and agree with a model
//! of the checks on any bytes.

use crate::protocol::*;
use crate::protocol_tests::{resp, Claims};
use proptest::prelude::*;

// --- An independent little-endian decoder at the C header's offsets ------------------------

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fn hdr_at(b: &[u8]) -> CtrlHdr {
    CtrlHdr {
        type_: u32_at(b, 0),
        flags: u32_at(b, 4),
        fence_id: u64_at(b, 8),
        ctx_id: u32_at(b, 16),
        ring_idx: b[20],
        padding: [b[21], b[22], b[23]],
    }
}

fn rect_at(b: &[u8], off: usize) -> Rect {
    Rect {
        x: u32_at(b, off),
        y: u32_at(b, off + 4),
        width: u32_at(b, off + 8),
        height: u32_at(b, off + 12),
    }
}

/// Encodes into a buffer of exactly `SIZE` bytes (every byte starts as the complement of what a
/// zero encoder would write, so none can be skipped unnoticed).
fn enc<T: Encode>(v: &T) -> Vec<u8> {
    let mut out = vec![0xff; T::SIZE];
    v.encode(&mut out);
    out
}

// --- Strategies ------------------------------------------------------------------------------

prop_compose! {
    fn arb_hdr()(type_: u32, flags: u32, fence_id: u64, ctx_id: u32, ring_idx: u8) -> CtrlHdr {
        CtrlHdr { type_, flags, fence_id, ctx_id, ring_idx, padding: [0; 3] }
    }
}

prop_compose! {
    fn arb_rect()(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect { x, y, width, height }
    }
}

prop_compose! {
    fn arb_entry()(addr: u64, length: u32) -> MemEntry {
        MemEntry { addr, length, padding: 0 }
    }
}

prop_compose! {
    fn arb_display_one()(r in arb_rect(), enabled: u32, flags: u32) -> DisplayOne {
        DisplayOne { r, enabled, flags }
    }
}

/// Bytes around the interesting lengths of every response, usually with a header type one of
/// the parsers expects, an error type or anything.
fn arb_resp_bytes() -> impl Strategy<Value = Vec<u8>> {
    let ty = prop_oneof![
        Just(0x1100u32),
        Just(0x1101),
        Just(0x1104),
        0x1200u32..0x1300,
        any::<u32>(),
    ];
    let len = prop_oneof![0usize..64, 380usize..440, 1020usize..1100, 0usize..1200];
    (ty, proptest::collection::vec(any::<u8>(), 1200), len).prop_map(|(t, mut b, len)| {
        b[..4].copy_from_slice(&t.to_le_bytes());
        b.truncate(len);
        b
    })
}

/// A command header: unfenced, or fenced with the fence the response carries, or any.
fn arb_cmd_for(b: &[u8]) -> impl Strategy<Value = CtrlHdr> {
    let echoed = if b.len() >= 16 { u64_at(b, 8) } else { 0 };
    prop_oneof![
        Just(CtrlHdr::new(CtrlType::GET_DISPLAY_INFO)),
        arb_hdr().prop_map(move |mut h| {
            h.flags |= FLAG_FENCE;
            h.fence_id = echoed;
            h
        }),
        arb_hdr(),
    ]
}

/// What `CtrlHdr::parse_response` must answer, from the protocol's rules.
fn model(b: &[u8], cmd: &CtrlHdr, expect: u32, size: usize) -> Result<(), ProtoError> {
    if b.len() < 24 {
        return Err(ProtoError::Short {
            got: b.len(),
            need: 24,
        });
    }
    let h = hdr_at(b);
    if (0x1200..0x1300).contains(&h.type_) {
        return Err(ProtoError::Device(CtrlType(h.type_)));
    }
    if h.type_ != expect {
        return Err(ProtoError::UnexpectedType(CtrlType(h.type_)));
    }
    if b.len() < size {
        return Err(ProtoError::Short {
            got: b.len(),
            need: size,
        });
    }
    if cmd.flags & FLAG_FENCE != 0 && (h.flags & FLAG_FENCE == 0 || h.fence_id != cmd.fence_id) {
        return Err(ProtoError::FenceMismatch);
    }
    Ok(())
}

// --- Properties ------------------------------------------------------------------------------

proptest! {
    #[test]
    fn ctrl_hdr_round_trips(h in arb_hdr()) {
        prop_assert_eq!(hdr_at(&enc(&h)), h);
        prop_assert_eq!(hdr_at(&enc(&GetDisplayInfo { hdr: h })), h);
    }

    #[test]
    fn resource_create_2d_round_trips(hdr in arb_hdr(), id: u32, fmt: u32, w: u32, h: u32) {
        let c = ResourceCreate2d { hdr, resource_id: id, format: fmt, width: w, height: h };
        let b = enc(&c);
        let d = ResourceCreate2d {
            hdr: hdr_at(&b),
            resource_id: u32_at(&b, 24),
            format: u32_at(&b, 28),
            width: u32_at(&b, 32),
            height: u32_at(&b, 36),
        };
        prop_assert_eq!(d, c);
    }

    #[test]
    fn resource_unref_and_detach_round_trip(hdr in arb_hdr(), id: u32) {
        let u = ResourceUnref { hdr, resource_id: id, padding: 0 };
        let b = enc(&u);
        prop_assert_eq!(
            ResourceUnref { hdr: hdr_at(&b), resource_id: u32_at(&b, 24), padding: u32_at(&b, 28) },
            u
        );
        let d = ResourceDetachBacking { hdr, resource_id: id, padding: 0 };
        let b = enc(&d);
        prop_assert_eq!(
            ResourceDetachBacking {
                hdr: hdr_at(&b),
                resource_id: u32_at(&b, 24),
                padding: u32_at(&b, 28),
            },
            d
        );
    }

    #[test]
    fn set_scanout_round_trips(hdr in arb_hdr(), r in arb_rect(), sid: u32, id: u32) {
        let c = SetScanout { hdr, r, scanout_id: sid, resource_id: id };
        let b = enc(&c);
        let d = SetScanout {
            hdr: hdr_at(&b),
            r: rect_at(&b, 24),
            scanout_id: u32_at(&b, 40),
            resource_id: u32_at(&b, 44),
        };
        prop_assert_eq!(d, c);
    }

    #[test]
    fn resource_flush_round_trips(hdr in arb_hdr(), r in arb_rect(), id: u32) {
        let c = ResourceFlush { hdr, r, resource_id: id, padding: 0 };
        let b = enc(&c);
        let d = ResourceFlush {
            hdr: hdr_at(&b),
            r: rect_at(&b, 24),
            resource_id: u32_at(&b, 40),
            padding: u32_at(&b, 44),
        };
        prop_assert_eq!(d, c);
    }

    #[test]
    fn transfer_to_host_2d_round_trips(hdr in arb_hdr(), r in arb_rect(), off: u64, id: u32) {
        let c = TransferToHost2d { hdr, r, offset: off, resource_id: id, padding: 0 };
        let b = enc(&c);
        let d = TransferToHost2d {
            hdr: hdr_at(&b),
            r: rect_at(&b, 24),
            offset: u64_at(&b, 40),
            resource_id: u32_at(&b, 48),
            padding: u32_at(&b, 52),
        };
        prop_assert_eq!(d, c);
    }

    #[test]
    fn attach_backing_and_get_edid_round_trip(hdr in arb_hdr(), id: u32, n: u32, s: u32) {
        let a = ResourceAttachBacking { hdr, resource_id: id, nr_entries: n };
        let b = enc(&a);
        prop_assert_eq!(
            ResourceAttachBacking {
                hdr: hdr_at(&b),
                resource_id: u32_at(&b, 24),
                nr_entries: u32_at(&b, 28),
            },
            a
        );
        let g = GetEdid { hdr, scanout: s, padding: 0 };
        let b = enc(&g);
        prop_assert_eq!(
            GetEdid { hdr: hdr_at(&b), scanout: u32_at(&b, 24), padding: u32_at(&b, 28) },
            g
        );
    }

    #[test]
    fn mem_entry_round_trips(e in arb_entry()) {
        let b = enc(&e);
        prop_assert_eq!(
            MemEntry { addr: u64_at(&b, 0), length: u32_at(&b, 8), padding: u32_at(&b, 12) },
            e
        );
    }

    #[test]
    fn update_cursor_round_trips(
        hdr in arb_hdr(), sid: u32, x: u32, y: u32, id: u32, hx: u32, hy: u32,
    ) {
        let c = UpdateCursor {
            hdr,
            pos: CursorPos { scanout_id: sid, x, y, padding: 0 },
            resource_id: id,
            hot_x: hx,
            hot_y: hy,
            padding: 0,
        };
        let b = enc(&c);
        let d = UpdateCursor {
            hdr: hdr_at(&b),
            pos: CursorPos {
                scanout_id: u32_at(&b, 24),
                x: u32_at(&b, 28),
                y: u32_at(&b, 32),
                padding: u32_at(&b, 36),
            },
            resource_id: u32_at(&b, 40),
            hot_x: u32_at(&b, 44),
            hot_y: u32_at(&b, 48),
            padding: u32_at(&b, 52),
        };
        prop_assert_eq!(d, c);
    }

    #[test]
    fn display_info_parses_what_was_written(
        flags: u32,
        fence: u64,
        pmodes in proptest::array::uniform16(arb_display_one()),
    ) {
        let mut b = resp(0x1101, flags, fence, 408);
        for (i, p) in pmodes.iter().enumerate() {
            let off = 24 + 24 * i;
            for (j, v) in [p.r.x, p.r.y, p.r.width, p.r.height, p.enabled, p.flags]
                .into_iter()
                .enumerate()
            {
                b[off + 4 * j..off + 4 * j + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        let cmd = CtrlHdr { flags: FLAG_FENCE, fence_id: fence, ..CtrlHdr::default() };
        let r = RespDisplayInfo::parse(&b, &cmd);
        if flags & FLAG_FENCE == 0 {
            prop_assert_eq!(r, Err(ProtoError::FenceMismatch));
        } else {
            let info = r.unwrap();
            prop_assert_eq!(info.hdr, hdr_at(&b));
            prop_assert_eq!(info.pmodes, pmodes);
        }
    }

    #[test]
    fn edid_parses_what_was_written(
        blocks in 0u32..=8,
        padding: u32,
        blob in proptest::collection::vec(any::<u8>(), 1024),
    ) {
        let mut b = resp(0x1104, 0, 0, 1056);
        b[24..28].copy_from_slice(&(blocks * 128).to_le_bytes());
        b[28..32].copy_from_slice(&padding.to_le_bytes());
        b[32..].copy_from_slice(&blob);
        let e = RespEdid::parse(&b, &CtrlHdr::default()).unwrap();
        prop_assert_eq!(e.size, blocks * 128);
        prop_assert_eq!(e.padding, padding);
        prop_assert_eq!(&e.edid[..], &blob[..]);
        prop_assert_eq!(e.bytes(), &blob[..blocks as usize * 128]);
    }

    #[test]
    fn edid_size_is_validated(size: u32) {
        let mut b = resp(0x1104, 0, 0, 1056);
        b[24..28].copy_from_slice(&size.to_le_bytes());
        let r = RespEdid::parse(&b, &CtrlHdr::default());
        if size <= 1024 && size.is_multiple_of(128) {
            prop_assert_eq!(r.unwrap().bytes().len(), size as usize);
        } else {
            prop_assert_eq!(r, Err(ProtoError::BadValue));
        }
    }

    /// Arbitrary bytes and commands: no panic, and exactly the answer the rules give.
    #[test]
    fn parsers_never_panic_and_follow_the_rules(
        (b, cmd) in arb_resp_bytes().prop_flat_map(|b| {
            let cmd = arb_cmd_for(&b);
            (Just(b), cmd)
        }),
    ) {
        prop_assert_eq!(parse_nodata(&b, &cmd), model(&b, &cmd, 0x1100, 24));

        let d = RespDisplayInfo::parse(&b, &cmd);
        prop_assert_eq!(d.map(|_| ()), model(&b, &cmd, 0x1101, 408));
        if let Ok(d) = d {
            prop_assert_eq!(d.hdr, hdr_at(&b));
            for (i, p) in d.pmodes.iter().enumerate() {
                prop_assert_eq!(p.r, rect_at(&b, 24 + 24 * i));
                prop_assert_eq!(p.enabled, u32_at(&b, 24 + 24 * i + 16));
                prop_assert_eq!(p.flags, u32_at(&b, 24 + 24 * i + 20));
            }
        }

        let e = RespEdid::parse(&b, &cmd);
        let mut want = model(&b, &cmd, 0x1104, 1056);
        if want.is_ok() {
            let size = u32_at(&b, 24);
            if size > 1024 || !size.is_multiple_of(128) {
                want = Err(ProtoError::BadValue);
            }
        }
        prop_assert_eq!(e.map(|_| ()), want);
        if let Ok(e) = e {
            prop_assert_eq!(e.bytes(), &b[32..32 + e.size as usize]);
        }
    }

    /// `parse_response` with any expected type and size.
    #[test]
    fn parse_response_never_panics(
        b in proptest::collection::vec(any::<u8>(), 0..200),
        cmd in arb_hdr(),
        expect: u32,
        size in 0usize..300,
    ) {
        let r = CtrlHdr::parse_response(&b, &cmd, CtrlType(expect), size);
        prop_assert_eq!(r.map(|_| ()), model(&b, &cmd, expect, size));
        if let Ok(h) = r {
            prop_assert_eq!(h, hdr_at(&b));
        }
    }

    #[test]
    fn attach_backing_size_is_checked_arithmetic(n: usize) {
        prop_assert_eq!(attach_backing_size(n), n.checked_mul(16).and_then(|s| s.checked_add(32)));
    }

    #[test]
    fn attach_backing_round_trips(
        id: u32,
        entries in proptest::collection::vec(arb_entry(), 0..70),
        slack in -40isize..40,
    ) {
        let size = 32 + 16 * entries.len();
        let len = (size as isize + slack).max(0) as usize;
        let mut out = vec![0xa5u8; len];
        let r = encode_attach_backing(id, entries.iter().copied(), &mut out);
        if len < size {
            prop_assert_eq!(r, Err(ProtoError::BadValue));
            prop_assert!(out.iter().all(|&x| x == 0xa5));
        } else {
            prop_assert_eq!(r, Ok(()));
            prop_assert_eq!(hdr_at(&out), CtrlHdr::new(CtrlType::RESOURCE_ATTACH_BACKING));
            prop_assert_eq!(u32_at(&out, 24), id);
            prop_assert_eq!(u32_at(&out, 28) as usize, entries.len());
            for (i, e) in entries.iter().enumerate() {
                let off = 32 + 16 * i;
                prop_assert_eq!(
                    MemEntry {
                        addr: u64_at(&out, off),
                        length: u32_at(&out, off + 8),
                        padding: u32_at(&out, off + 12),
                    },
                    *e
                );
            }
            prop_assert!(out[size..].iter().all(|&x| x == 0xa5));
        }
    }

    /// An iterator whose `len` is wrong must not cause a panic or a write past `out`.
    #[test]
    fn attach_backing_survives_a_wrong_len(
        claimed in 0usize..8,
        real in 0usize..8,
        len in 0usize..200,
    ) {
        let mut out = vec![0u8; len];
        let _ = encode_attach_backing(9, Claims { claimed, real, next: 0 }, &mut out);
        prop_assert_eq!(out.len(), len);
    }
}
