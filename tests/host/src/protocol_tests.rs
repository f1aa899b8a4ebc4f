// SPDX-License-Identifier: GPL-2.0

//! Tests of `gpu/protocol.rs` against `include/uapi/linux/virtio_gpu.h`.
//!
//! The expected bytes are written here from the C header by hand (offsets and little-endian
//! values), never with the encoder or reader under test; responses are likewise built byte by
//! byte.

use crate::protocol::*;
use core::mem::size_of;

/// What the encoders are given to write over: any byte they leave alone shows as this.
const POISON: u8 = 0xa5;

/// A fenced command header with a distinct value in every field.
const FENCE_ID: u64 = 0x1122_3344_5566_7788;
const CTX_ID: u32 = 0x0a0b_0c0d;
const RING_IDX: u8 = 0x5a;

/// A field of a hand-written layout: its offset from the C header and its value.
#[derive(Clone, Copy)]
pub(crate) enum F {
    U8(u8),
    U32(u32),
    U64(u64),
    Zero(usize),
}

/// Bytes of a structure of `size` bytes with `fields`, little-endian. The offsets must follow
/// each other without gap or overlap and end at `size`: a typo in a hand-computed offset fails
/// here rather than matching a wrong encoder.
pub(crate) fn layout(size: usize, fields: &[(usize, F)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    for &(off, f) in fields {
        assert_eq!(
            off,
            out.len(),
            "hand-written layout has a gap or overlap at {off}"
        );
        match f {
            F::U8(v) => out.push(v),
            F::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
            F::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
            F::Zero(n) => out.resize(out.len() + n, 0),
        }
    }
    assert_eq!(
        out.len(),
        size,
        "hand-written layout does not end at the size"
    );
    out
}

/// `struct virtio_gpu_ctrl_hdr` fields (type 0, flags 4, fence_id 8, ctx_id 16, ring_idx 20,
/// padding 21..24) for [`fenced_hdr`].
fn hdr_fields(t: u32) -> Vec<(usize, F)> {
    vec![
        (0, F::U32(t)),
        (4, F::U32(FLAG_FENCE)),
        (8, F::U64(FENCE_ID)),
        (16, F::U32(CTX_ID)),
        (20, F::U8(RING_IDX)),
        (21, F::Zero(3)),
    ]
}

fn fenced_hdr(t: CtrlType) -> CtrlHdr {
    CtrlHdr {
        type_: t.0,
        flags: FLAG_FENCE,
        fence_id: FENCE_ID,
        ctx_id: CTX_ID,
        ring_idx: RING_IDX,
        padding: [0; 3],
    }
}

/// Encodes `v` over poison with room to spare: checks it writes all of its `SIZE` bytes and
/// none after them.
fn encoded<T: Encode>(v: &T) -> Vec<u8> {
    let mut out = vec![POISON; T::SIZE + 32];
    v.encode(&mut out);
    assert!(
        out[T::SIZE..].iter().all(|&b| b == POISON),
        "encoder wrote past SIZE"
    );
    out.truncate(T::SIZE);
    out
}

fn with_hdr(t: CtrlType, rest: &[(usize, F)]) -> Vec<(usize, F)> {
    let mut f = hdr_fields(t.0);
    f.extend_from_slice(rest);
    f
}

// --- Sizes and constants -------------------------------------------------------------------

#[test]
fn sizes_are_the_c_headers() {
    assert_eq!(CtrlHdr::SIZE, 24);
    assert_eq!(GetDisplayInfo::SIZE, 24);
    assert_eq!(ResourceCreate2d::SIZE, 40);
    assert_eq!(ResourceUnref::SIZE, 32);
    assert_eq!(SetScanout::SIZE, 48);
    assert_eq!(ResourceFlush::SIZE, 48);
    assert_eq!(TransferToHost2d::SIZE, 56);
    assert_eq!(ResourceAttachBacking::SIZE, 32);
    assert_eq!(ResourceDetachBacking::SIZE, 32);
    assert_eq!(GetEdid::SIZE, 32);
    assert_eq!(MemEntry::SIZE, 16);
    assert_eq!(UpdateCursor::SIZE, 56);
    assert_eq!(RespDisplayInfo::SIZE, 408);
    assert_eq!(RespEdid::SIZE, 1056);
    assert_eq!(size_of::<Rect>(), 16);
    assert_eq!(size_of::<CursorPos>(), 16);
    assert_eq!(size_of::<DisplayOne>(), 24);
}

#[test]
fn encode_size_is_the_repr_c_size() {
    assert_eq!(CtrlHdr::SIZE, size_of::<CtrlHdr>());
    assert_eq!(GetDisplayInfo::SIZE, size_of::<GetDisplayInfo>());
    assert_eq!(ResourceCreate2d::SIZE, size_of::<ResourceCreate2d>());
    assert_eq!(ResourceUnref::SIZE, size_of::<ResourceUnref>());
    assert_eq!(SetScanout::SIZE, size_of::<SetScanout>());
    assert_eq!(ResourceFlush::SIZE, size_of::<ResourceFlush>());
    assert_eq!(TransferToHost2d::SIZE, size_of::<TransferToHost2d>());
    assert_eq!(
        ResourceAttachBacking::SIZE,
        size_of::<ResourceAttachBacking>()
    );
    assert_eq!(
        ResourceDetachBacking::SIZE,
        size_of::<ResourceDetachBacking>()
    );
    assert_eq!(GetEdid::SIZE, size_of::<GetEdid>());
    assert_eq!(MemEntry::SIZE, size_of::<MemEntry>());
    assert_eq!(UpdateCursor::SIZE, size_of::<UpdateCursor>());
}

#[test]
fn ctrl_types_are_the_c_enum() {
    let expect = [
        (CtrlType::GET_DISPLAY_INFO, 0x0100),
        (CtrlType::RESOURCE_CREATE_2D, 0x0101),
        (CtrlType::RESOURCE_UNREF, 0x0102),
        (CtrlType::SET_SCANOUT, 0x0103),
        (CtrlType::RESOURCE_FLUSH, 0x0104),
        (CtrlType::TRANSFER_TO_HOST_2D, 0x0105),
        (CtrlType::RESOURCE_ATTACH_BACKING, 0x0106),
        (CtrlType::RESOURCE_DETACH_BACKING, 0x0107),
        (CtrlType::GET_CAPSET_INFO, 0x0108),
        (CtrlType::GET_CAPSET, 0x0109),
        (CtrlType::GET_EDID, 0x010a),
        (CtrlType::UPDATE_CURSOR, 0x0300),
        (CtrlType::MOVE_CURSOR, 0x0301),
        (CtrlType::RESP_OK_NODATA, 0x1100),
        (CtrlType::RESP_OK_DISPLAY_INFO, 0x1101),
        (CtrlType::RESP_OK_CAPSET_INFO, 0x1102),
        (CtrlType::RESP_OK_CAPSET, 0x1103),
        (CtrlType::RESP_OK_EDID, 0x1104),
        (CtrlType::RESP_ERR_UNSPEC, 0x1200),
        (CtrlType::RESP_ERR_OUT_OF_MEMORY, 0x1201),
        (CtrlType::RESP_ERR_INVALID_SCANOUT_ID, 0x1202),
        (CtrlType::RESP_ERR_INVALID_RESOURCE_ID, 0x1203),
        (CtrlType::RESP_ERR_INVALID_CONTEXT_ID, 0x1204),
        (CtrlType::RESP_ERR_INVALID_PARAMETER, 0x1205),
    ];
    for (t, v) in expect {
        assert_eq!(t.0, v, "{t:?}");
    }
    assert_eq!(GetDisplayInfo::TYPE.0, 0x0100);
    assert_eq!(ResourceCreate2d::TYPE.0, 0x0101);
    assert_eq!(ResourceUnref::TYPE.0, 0x0102);
    assert_eq!(SetScanout::TYPE.0, 0x0103);
    assert_eq!(ResourceFlush::TYPE.0, 0x0104);
    assert_eq!(TransferToHost2d::TYPE.0, 0x0105);
    assert_eq!(ResourceAttachBacking::TYPE.0, 0x0106);
    assert_eq!(ResourceDetachBacking::TYPE.0, 0x0107);
    assert_eq!(GetEdid::TYPE.0, 0x010a);
}

#[test]
fn flags_formats_and_limits_are_the_c_headers() {
    assert_eq!(FLAG_FENCE, 1 << 0);
    assert_eq!(MAX_SCANOUTS, 16);
    assert_eq!(EDID_MAX, 1024);
    assert_eq!(format::B8G8R8A8_UNORM, 1);
    assert_eq!(format::B8G8R8X8_UNORM, 2);
    assert_eq!(format::A8R8G8B8_UNORM, 3);
    assert_eq!(format::X8R8G8B8_UNORM, 4);
    assert_eq!(format::R8G8B8A8_UNORM, 67);
    assert_eq!(format::X8B8G8R8_UNORM, 68);
    assert_eq!(format::A8B8G8R8_UNORM, 121);
    assert_eq!(format::R8G8B8X8_UNORM, 134);
}

// --- Command encoding, field by field --------------------------------------------------------

#[test]
fn ctrl_hdr_encoding() {
    let h = fenced_hdr(CtrlType::GET_DISPLAY_INFO);
    assert_eq!(encoded(&h), layout(24, &hdr_fields(0x0100)));
    let cmd = GetDisplayInfo { hdr: h };
    assert_eq!(encoded(&cmd), layout(24, &hdr_fields(0x0100)));
}

#[test]
fn ctrl_hdr_new_is_unfenced_and_zeroed() {
    let h = CtrlHdr::new(CtrlType::RESOURCE_FLUSH);
    assert_eq!(
        encoded(&h),
        [0x04, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
}

/// One command spelled out byte by byte, independent of the [`layout`] helper.
#[test]
fn resource_create_2d_literal_bytes() {
    let cmd = ResourceCreate2d {
        hdr: CtrlHdr::new(ResourceCreate2d::TYPE),
        resource_id: 0x0102_0304,
        format: format::B8G8R8X8_UNORM,
        width: 1024,
        height: 768,
    };
    #[rustfmt::skip]
    let expect: [u8; 40] = [
        0x01, 0x01, 0x00, 0x00, // type = 0x0101
        0x00, 0x00, 0x00, 0x00, // flags
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // fence_id
        0x00, 0x00, 0x00, 0x00, // ctx_id
        0x00, 0x00, 0x00, 0x00, // ring_idx, padding[3]
        0x04, 0x03, 0x02, 0x01, // resource_id
        0x02, 0x00, 0x00, 0x00, // format
        0x00, 0x04, 0x00, 0x00, // width = 1024
        0x00, 0x03, 0x00, 0x00, // height = 768
    ];
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn resource_create_2d_encoding() {
    let cmd = ResourceCreate2d {
        hdr: fenced_hdr(ResourceCreate2d::TYPE),
        resource_id: 0xdead_beef,
        format: format::R8G8B8X8_UNORM,
        width: 0x0001_0203,
        height: 0x8000_0001,
    };
    let expect = layout(
        40,
        &with_hdr(
            ResourceCreate2d::TYPE,
            &[
                (24, F::U32(0xdead_beef)),
                (28, F::U32(134)),
                (32, F::U32(0x0001_0203)),
                (36, F::U32(0x8000_0001)),
            ],
        ),
    );
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn resource_unref_encoding() {
    let cmd = ResourceUnref {
        hdr: fenced_hdr(ResourceUnref::TYPE),
        resource_id: 0x1357_9bdf,
        padding: 0,
    };
    let expect = layout(
        32,
        &with_hdr(
            ResourceUnref::TYPE,
            &[(24, F::U32(0x1357_9bdf)), (28, F::U32(0))],
        ),
    );
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn set_scanout_encoding() {
    let cmd = SetScanout {
        hdr: fenced_hdr(SetScanout::TYPE),
        r: Rect {
            x: 0x11,
            y: 0x2222,
            width: 0x0033_3333,
            height: 0x4444_4444,
        },
        scanout_id: 15,
        resource_id: 0xcafe_f00d,
    };
    let expect = layout(
        48,
        &with_hdr(
            SetScanout::TYPE,
            &[
                (24, F::U32(0x11)),
                (28, F::U32(0x2222)),
                (32, F::U32(0x0033_3333)),
                (36, F::U32(0x4444_4444)),
                (40, F::U32(15)),
                (44, F::U32(0xcafe_f00d)),
            ],
        ),
    );
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn resource_flush_encoding() {
    let cmd = ResourceFlush {
        hdr: fenced_hdr(ResourceFlush::TYPE),
        r: Rect {
            x: 1,
            y: 2,
            width: 3,
            height: 4,
        },
        resource_id: 0x0506_0708,
        padding: 0,
    };
    let expect = layout(
        48,
        &with_hdr(
            ResourceFlush::TYPE,
            &[
                (24, F::U32(1)),
                (28, F::U32(2)),
                (32, F::U32(3)),
                (36, F::U32(4)),
                (40, F::U32(0x0506_0708)),
                (44, F::U32(0)),
            ],
        ),
    );
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn transfer_to_host_2d_encoding() {
    let cmd = TransferToHost2d {
        hdr: fenced_hdr(TransferToHost2d::TYPE),
        r: Rect {
            x: 10,
            y: 20,
            width: 30,
            height: 40,
        },
        offset: 0x0102_0304_0506_0708,
        resource_id: 0x99,
        padding: 0,
    };
    let expect = layout(
        56,
        &with_hdr(
            TransferToHost2d::TYPE,
            &[
                (24, F::U32(10)),
                (28, F::U32(20)),
                (32, F::U32(30)),
                (36, F::U32(40)),
                (40, F::U64(0x0102_0304_0506_0708)),
                (48, F::U32(0x99)),
                (52, F::U32(0)),
            ],
        ),
    );
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn resource_attach_backing_encoding() {
    let cmd = ResourceAttachBacking {
        hdr: fenced_hdr(ResourceAttachBacking::TYPE),
        resource_id: 7,
        nr_entries: 0x0001_0000,
    };
    let expect = layout(
        32,
        &with_hdr(
            ResourceAttachBacking::TYPE,
            &[(24, F::U32(7)), (28, F::U32(0x0001_0000))],
        ),
    );
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn resource_detach_backing_encoding() {
    let cmd = ResourceDetachBacking {
        hdr: fenced_hdr(ResourceDetachBacking::TYPE),
        resource_id: 0xffff_fffe,
        padding: 0,
    };
    let expect = layout(
        32,
        &with_hdr(
            ResourceDetachBacking::TYPE,
            &[(24, F::U32(0xffff_fffe)), (28, F::U32(0))],
        ),
    );
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn get_edid_encoding() {
    let cmd = GetEdid {
        hdr: fenced_hdr(GetEdid::TYPE),
        scanout: 3,
        padding: 0,
    };
    let expect = layout(
        32,
        &with_hdr(GetEdid::TYPE, &[(24, F::U32(3)), (28, F::U32(0))]),
    );
    assert_eq!(encoded(&cmd), expect);
}

#[test]
fn mem_entry_encoding() {
    let e = MemEntry {
        addr: 0xfedc_ba98_7654_3210,
        length: 0x0010_0000,
        padding: 0,
    };
    let expect = layout(
        16,
        &[
            (0, F::U64(0xfedc_ba98_7654_3210)),
            (8, F::U32(0x0010_0000)),
            (12, F::U32(0)),
        ],
    );
    assert_eq!(encoded(&e), expect);
}

#[test]
fn update_cursor_encoding() {
    for t in [CtrlType::UPDATE_CURSOR, CtrlType::MOVE_CURSOR] {
        let cmd = UpdateCursor {
            hdr: fenced_hdr(t),
            pos: CursorPos {
                scanout_id: 2,
                x: 0x0000_0780,
                y: 0x0000_0438,
                padding: 0,
            },
            resource_id: 0x4242,
            hot_x: 63,
            hot_y: 0x0102_0304,
            padding: 0,
        };
        let expect = layout(
            56,
            &with_hdr(
                t,
                &[
                    (24, F::U32(2)),
                    (28, F::U32(0x780)),
                    (32, F::U32(0x438)),
                    (36, F::U32(0)),
                    (40, F::U32(0x4242)),
                    (44, F::U32(63)),
                    (48, F::U32(0x0102_0304)),
                    (52, F::U32(0)),
                ],
            ),
        );
        assert_eq!(encoded(&cmd), expect);
    }
}

#[test]
fn encode_into_a_short_buffer_writes_the_prefix_without_panicking() {
    let cmd = TransferToHost2d {
        hdr: fenced_hdr(TransferToHost2d::TYPE),
        r: Rect {
            x: 1,
            y: 2,
            width: 3,
            height: 4,
        },
        offset: 5,
        resource_id: 6,
        padding: 0,
    };
    let full = encoded(&cmd);
    for len in 0..TransferToHost2d::SIZE {
        let mut out = vec![POISON; len];
        cmd.encode(&mut out);
        // Whole fields that fit are written; a field cut by the end is left alone.
        for (i, &b) in out.iter().enumerate() {
            assert!(b == full[i] || b == POISON, "len {len} byte {i}");
        }
    }
}

// --- Responses: builders ---------------------------------------------------------------------

/// A response of `size` bytes, zero after a header with the given fields.
pub(crate) fn resp(t: u32, flags: u32, fence_id: u64, size: usize) -> Vec<u8> {
    let mut b = vec![0u8; size.max(24)];
    b[0..4].copy_from_slice(&t.to_le_bytes());
    b[4..8].copy_from_slice(&flags.to_le_bytes());
    b[8..16].copy_from_slice(&fence_id.to_le_bytes());
    b[16..20].copy_from_slice(&0x7777_7777u32.to_le_bytes()); // ctx_id
    b[20] = 0x33; // ring_idx
    b.truncate(size);
    b
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// `struct virtio_gpu_resp_edid` with `size` and blob bytes `i as u8`.
fn edid_resp(size: u32) -> Vec<u8> {
    let mut b = resp(0x1104, 0, 0, 1056);
    put32(&mut b, 24, size);
    put32(&mut b, 28, 0);
    for (i, v) in b[32..].iter_mut().enumerate() {
        *v = (i % 251) as u8 + 1;
    }
    b
}

/// `struct virtio_gpu_resp_display_info` where scanout `i` has distinct values in every field.
fn display_resp() -> Vec<u8> {
    let mut b = resp(0x1101, 0, 0, 408);
    for i in 0..16u32 {
        let off = 24 + 24 * i as usize;
        put32(&mut b, off, 0x100 * i + 1); // r.x
        put32(&mut b, off + 4, 0x100 * i + 2); // r.y
        put32(&mut b, off + 8, 640 + i); // r.width
        put32(&mut b, off + 12, 480 + 0x1_0000 * i); // r.height
        put32(&mut b, off + 16, i % 2); // enabled
        put32(&mut b, off + 20, 0x8000_0000 | i); // flags
    }
    b
}

/// Each parser with its success type, its size and a valid response of that type.
type Parse = fn(&[u8], &CtrlHdr) -> Result<(), ProtoError>;

fn parsers() -> [(&'static str, u32, usize, Parse, Vec<u8>); 3] {
    [
        ("nodata", 0x1100, 24, parse_nodata, resp(0x1100, 0, 0, 24)),
        (
            "display_info",
            0x1101,
            408,
            |r, c| RespDisplayInfo::parse(r, c).map(|_| ()),
            display_resp(),
        ),
        (
            "edid",
            0x1104,
            1056,
            |r, c| RespEdid::parse(r, c).map(|_| ()),
            edid_resp(256),
        ),
    ]
}

fn unfenced() -> CtrlHdr {
    CtrlHdr::new(CtrlType::GET_DISPLAY_INFO)
}

// --- Responses: validation -------------------------------------------------------------------

#[test]
fn parsers_accept_their_response() {
    for (name, _, _, parse, ok) in parsers() {
        assert_eq!(parse(&ok, &unfenced()), Ok(()), "{name}");
    }
}

#[test]
fn parsers_ignore_bytes_past_the_response() {
    for (name, _, _, parse, mut ok) in parsers() {
        ok.extend_from_slice(&[0xff; 64]);
        assert_eq!(parse(&ok, &unfenced()), Ok(()), "{name}");
    }
}

#[test]
fn truncated_responses_are_short() {
    for (name, _, size, parse, ok) in parsers() {
        for len in 0..size {
            let need = if len < 24 { 24 } else { size };
            assert_eq!(
                parse(&ok[..len], &unfenced()),
                Err(ProtoError::Short { got: len, need }),
                "{name} truncated to {len}"
            );
        }
    }
}

#[test]
fn device_errors_are_reported() {
    for (name, _, size, parse, _) in parsers() {
        for t in 0x1200..=0x1205u32 {
            // An error response is a bare header; a full-size buffer must give the same.
            for len in [24, size] {
                let r = resp(t, 0, 0, len);
                assert_eq!(
                    parse(&r, &unfenced()),
                    Err(ProtoError::Device(CtrlType(t))),
                    "{name} {t:#x} len {len}"
                );
            }
            // The device's error is what matters, even if it did not echo the fence.
            let fenced = fenced_hdr(CtrlType::GET_DISPLAY_INFO);
            assert_eq!(
                parse(&resp(t, 0, 0, 24), &fenced),
                Err(ProtoError::Device(CtrlType(t))),
                "{name} {t:#x} fenced"
            );
        }
    }
}

#[test]
fn error_type_constants_are_device_errors() {
    let cmd = unfenced();
    for t in [
        CtrlType::RESP_ERR_UNSPEC,
        CtrlType::RESP_ERR_OUT_OF_MEMORY,
        CtrlType::RESP_ERR_INVALID_SCANOUT_ID,
        CtrlType::RESP_ERR_INVALID_RESOURCE_ID,
        CtrlType::RESP_ERR_INVALID_CONTEXT_ID,
        CtrlType::RESP_ERR_INVALID_PARAMETER,
    ] {
        assert_eq!(
            parse_nodata(&resp(t.0, 0, 0, 24), &cmd),
            Err(ProtoError::Device(t))
        );
    }
}

#[test]
fn wrong_success_types_are_rejected() {
    let others = [
        0u32,
        0x0100,
        0x0101,
        0x0105,
        0x0106,
        0x010a,
        0x0300,
        0x0301,
        0x1100,
        0x1101,
        0x1102,
        0x1103,
        0x1104,
        0x1105,
        0x1106,
        0x1300,
        0x2100,
        0x0001_1100,
        0xffff_ffff,
    ];
    for (name, expect, size, parse, _) in parsers() {
        for t in others.into_iter().filter(|&t| t != expect) {
            for len in [24, size] {
                assert_eq!(
                    parse(&resp(t, 0, 0, len), &unfenced()),
                    Err(ProtoError::UnexpectedType(CtrlType(t))),
                    "{name} given {t:#x} len {len}"
                );
            }
        }
        // Types in the error range the header does not name yet are not successes either.
        for t in 0x1206..0x1300 {
            assert!(parse(&resp(t, 0, 0, size), &unfenced()).is_err());
        }
    }
}

#[test]
fn fenced_commands_need_their_fence_echoed() {
    let cmd = fenced_hdr(CtrlType::GET_DISPLAY_INFO);
    for (name, t, size, parse, ok) in parsers() {
        let with = |flags: u32, fence: u64| {
            let mut r = ok.clone();
            r[..24].copy_from_slice(&resp(t, flags, fence, 24));
            assert_eq!(r.len(), size);
            r
        };
        assert_eq!(parse(&with(FLAG_FENCE, FENCE_ID), &cmd), Ok(()), "{name}");
        // Other flag bits (ring index) do not matter.
        assert_eq!(parse(&with(0b11, FENCE_ID), &cmd), Ok(()), "{name}");
        for (flags, fence) in [
            (0, FENCE_ID),
            (0b10, FENCE_ID),
            (FLAG_FENCE, FENCE_ID + 1),
            (FLAG_FENCE, FENCE_ID ^ (1 << 63)),
            (FLAG_FENCE, 0),
            (0, 0),
        ] {
            assert_eq!(
                parse(&with(flags, fence), &cmd),
                Err(ProtoError::FenceMismatch),
                "{name} flags {flags:#x} fence {fence:#x}"
            );
        }
    }
}

#[test]
fn unfenced_commands_accept_any_fence_field() {
    for (name, t, _, parse, ok) in parsers() {
        for (flags, fence) in [(0, 0), (FLAG_FENCE, 0), (FLAG_FENCE, 99), (0, u64::MAX)] {
            let mut r = ok.clone();
            r[..24].copy_from_slice(&resp(t, flags, fence, 24));
            assert_eq!(parse(&r, &unfenced()), Ok(()), "{name}");
        }
    }
}

#[test]
fn parse_response_returns_the_header() {
    let mut r = resp(0x1100, FLAG_FENCE | 0b10, FENCE_ID, 24);
    r[21..24].copy_from_slice(&[1, 2, 3]);
    let cmd = fenced_hdr(CtrlType::RESOURCE_FLUSH);
    let hdr = CtrlHdr::parse_response(&r, &cmd, CtrlType::RESP_OK_NODATA, 24).unwrap();
    assert_eq!(
        hdr,
        CtrlHdr {
            type_: 0x1100,
            flags: 0b11,
            fence_id: FENCE_ID,
            ctx_id: 0x7777_7777,
            ring_idx: 0x33,
            padding: [1, 2, 3],
        }
    );
}

#[test]
fn parse_response_checks_the_given_size() {
    let cmd = unfenced();
    let r = resp(0x1102, 0, 0, 40);
    let ok = CtrlType::RESP_OK_CAPSET_INFO;
    assert!(CtrlHdr::parse_response(&r, &cmd, ok, 40).is_ok());
    assert_eq!(
        CtrlHdr::parse_response(&r, &cmd, ok, 41),
        Err(ProtoError::Short { got: 40, need: 41 })
    );
    // The header is always needed, whatever size is asked for.
    assert_eq!(
        CtrlHdr::parse_response(&r[..23], &cmd, ok, 0),
        Err(ProtoError::Short { got: 23, need: 24 })
    );
}

#[test]
fn display_info_reads_all_16_scanouts() {
    let b = display_resp();
    let cmd = fenced_hdr(CtrlType::GET_DISPLAY_INFO);
    let mut fenced = b.clone();
    fenced[..24].copy_from_slice(&resp(0x1101, FLAG_FENCE, FENCE_ID, 24));
    for (r, c) in [(&b, &unfenced()), (&fenced, &cmd)] {
        let info = RespDisplayInfo::parse(r, c).unwrap();
        assert_eq!(info.hdr.type_, 0x1101);
        for (i, p) in info.pmodes.iter().enumerate() {
            let i = i as u32;
            assert_eq!(
                *p,
                DisplayOne {
                    r: Rect {
                        x: 0x100 * i + 1,
                        y: 0x100 * i + 2,
                        width: 640 + i,
                        height: 480 + 0x1_0000 * i,
                    },
                    enabled: i % 2,
                    flags: 0x8000_0000 | i,
                },
                "scanout {i}"
            );
        }
    }
}

#[test]
fn edid_sizes_in_whole_blocks_up_to_1024_are_accepted() {
    for size in (0..=1024).step_by(128) {
        let b = edid_resp(size);
        let e = RespEdid::parse(&b, &unfenced()).unwrap();
        assert_eq!(e.size, size);
        assert_eq!(e.bytes(), &b[32..32 + size as usize]);
        assert_eq!(&e.edid[..], &b[32..]);
    }
}

#[test]
fn edid_bad_sizes_are_bad_values() {
    for size in [
        1,
        64,
        127,
        129,
        255,
        1000,
        1023,
        1025,
        1152,
        2048,
        4096,
        0x8000_0000,
        u32::MAX - 127,
        u32::MAX,
    ] {
        assert_eq!(
            RespEdid::parse(&edid_resp(size), &unfenced()),
            Err(ProtoError::BadValue),
            "size {size}"
        );
    }
}

#[test]
fn edid_reads_its_padding_field() {
    let mut b = edid_resp(128);
    put32(&mut b, 28, 0xabcd);
    assert_eq!(RespEdid::parse(&b, &unfenced()).unwrap().padding, 0xabcd);
}

// --- RESOURCE_ATTACH_BACKING with entries ----------------------------------------------------

fn entry(i: u64) -> MemEntry {
    MemEntry {
        addr: 0x1_0000_0000 * i + 0x1000 * i + 7,
        length: 4096 * (i as u32 + 1),
        padding: 0,
    }
}

/// Hand-written bytes of an attach-backing command: header, then each entry at 32 + 16 i.
fn attach_layout(id: u32, n: u64) -> Vec<u8> {
    let mut f = vec![
        (0, F::U32(0x0106)),
        (4, F::U32(0)),
        (8, F::U64(0)),
        (16, F::U32(0)),
        (20, F::U8(0)),
        (21, F::Zero(3)),
        (24, F::U32(id)),
        (28, F::U32(n as u32)),
    ];
    for i in 0..n {
        let off = 32 + 16 * i as usize;
        let e = entry(i);
        f.push((off, F::U64(e.addr)));
        f.push((off + 8, F::U32(e.length)));
        f.push((off + 12, F::U32(0)));
    }
    layout(32 + 16 * n as usize, &f)
}

fn attach(id: u32, n: u64, out_len: usize) -> (Result<(), ProtoError>, Vec<u8>) {
    let mut out = vec![POISON; out_len];
    let r = encode_attach_backing(id, (0..n as usize).map(|i| entry(i as u64)), &mut out);
    (r, out)
}

#[test]
fn attach_backing_with_0_1_and_many_entries() {
    for n in [0u64, 1, 2, 17, 512] {
        let size = 32 + 16 * n as usize;
        assert_eq!(attach_backing_size(n as usize), Some(size));
        let (r, out) = attach(0x0bad_cafe, n, size);
        assert_eq!(r, Ok(()), "{n} entries");
        assert_eq!(out, attach_layout(0x0bad_cafe, n), "{n} entries");
    }
}

#[test]
fn attach_backing_leaves_the_rest_of_a_larger_buffer() {
    let (r, out) = attach(5, 3, 32 + 48 + 10);
    assert_eq!(r, Ok(()));
    assert_eq!(&out[..80], &attach_layout(5, 3)[..]);
    assert!(out[80..].iter().all(|&b| b == POISON));
}

#[test]
fn attach_backing_into_a_short_buffer_fails_without_writing() {
    for n in [0u64, 1, 4] {
        let size = 32 + 16 * n as usize;
        for len in [0, 1, 24, 31, size - 1] {
            if len >= size {
                continue;
            }
            let (r, out) = attach(1, n, len);
            assert_eq!(r, Err(ProtoError::BadValue), "{n} entries into {len}");
            assert!(out.iter().all(|&b| b == POISON), "{n} entries into {len}");
        }
    }
}

#[test]
fn attach_backing_size_overflow_is_none() {
    assert_eq!(attach_backing_size(0), Some(32));
    assert_eq!(attach_backing_size(1), Some(48));
    assert_eq!(attach_backing_size(1000), Some(16_032));
    let max = (usize::MAX - 32) / 16;
    assert_eq!(attach_backing_size(max), Some(max * 16 + 32));
    assert_eq!(attach_backing_size(max + 1), None);
    assert_eq!(attach_backing_size(usize::MAX / 16), None);
    assert_eq!(attach_backing_size(usize::MAX / 16 + 1), None);
    assert_eq!(attach_backing_size(usize::MAX), None);
}

/// An iterator that says it has `claimed` items and yields `real` of them.
pub(crate) struct Claims {
    pub(crate) claimed: usize,
    pub(crate) real: usize,
    pub(crate) next: u64,
}

impl Iterator for Claims {
    type Item = MemEntry;
    fn next(&mut self) -> Option<MemEntry> {
        if self.next as usize >= self.real {
            return None;
        }
        self.next += 1;
        Some(entry(self.next - 1))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.claimed.saturating_sub(self.next as usize);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Claims {}

#[test]
fn attach_backing_with_more_entries_than_fit_in_u32_is_refused() {
    let mut out = [POISON; 64];
    for claimed in [u32::MAX as usize + 1, usize::MAX] {
        let it = Claims {
            claimed,
            real: 0,
            next: 0,
        };
        assert_eq!(
            encode_attach_backing(1, it, &mut out),
            Err(ProtoError::BadValue)
        );
    }
    assert!(out.iter().all(|&b| b == POISON));
}

#[test]
fn attach_backing_with_an_iterator_longer_than_it_said_fails_cleanly() {
    // `ExactSizeIterator::len` is a safe promise: a wrong one must not make it write out of
    // bounds or panic.
    let mut out = vec![POISON; 32 + 16 * 2];
    let it = Claims {
        claimed: 2,
        real: 5,
        next: 0,
    };
    assert_eq!(
        encode_attach_backing(1, it, &mut out),
        Err(ProtoError::BadValue)
    );
}

#[test]
fn replies_to_unwaited_commands_are_checked_from_raw_bytes() {
    let cmd = encoded(&ResourceFlush {
        hdr: CtrlHdr::new(ResourceFlush::TYPE),
        r: Rect::default(),
        resource_id: 7,
        padding: 0,
    });
    let ok = resp(CtrlType::RESP_OK_NODATA.0, 0, 0, CtrlHdr::SIZE);
    assert_eq!(
        check_nodata_reply(&cmd, &ok),
        (CtrlType::RESOURCE_FLUSH.0, Ok(()))
    );
    // A device error, a wrong success type and a truncated answer are reported with the
    // command's type.
    let err = resp(
        CtrlType::RESP_ERR_INVALID_RESOURCE_ID.0,
        0,
        0,
        CtrlHdr::SIZE,
    );
    let (t, r) = check_nodata_reply(&cmd, &err);
    assert_eq!(t, CtrlType::RESOURCE_FLUSH.0);
    assert!(matches!(r, Err(ProtoError::Device(_))), "{r:?}");
    let wrong = resp(CtrlType::RESP_OK_DISPLAY_INFO.0, 0, 0, CtrlHdr::SIZE);
    assert!(check_nodata_reply(&cmd, &wrong).1.is_err());
    assert!(matches!(
        check_nodata_reply(&cmd, &ok[..10]).1,
        Err(ProtoError::Short { .. })
    ));
    // A command too short to have a header (never sent by the driver) is refused, not read.
    assert!(matches!(
        check_nodata_reply(&cmd[..8], &ok),
        (0, Err(ProtoError::Short { got: 8, .. }))
    ));
}
