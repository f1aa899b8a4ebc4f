// SPDX-License-Identifier: GPL-2.0

//! Tests of the 3D parts of `gpu/protocol.rs` (capset and context commands, 3D resources,
//! transfers, submission) against `include/uapi/linux/virtio_gpu.h`, and of `gpu/capsets.rs`
//! against the 6.12 C driver's `VIRTGPU_GET_CAPS` rules. Expected bytes are written by hand.

use crate::capsets::{id_mask, lookup, CapsError, CapsetInfo};
use crate::protocol::*;
use crate::protocol_tests::{layout, resp, F};

fn unfenced(t: u32, ctx: u32) -> Vec<(usize, F)> {
    vec![
        (0, F::U32(t)),
        (4, F::U32(0)),
        (8, F::U64(0)),
        (16, F::U32(ctx)),
        (20, F::U8(0)),
        (21, F::Zero(3)),
    ]
}

fn bytes<T: Encode>(v: &T) -> Vec<u8> {
    let mut out = vec![0xa5; T::SIZE + 8];
    v.encode(&mut out);
    assert!(out[T::SIZE..].iter().all(|&b| b == 0xa5), "wrote past SIZE");
    out.truncate(T::SIZE);
    out
}

#[test]
fn sizes_of_the_3d_structs_are_the_c_headers() {
    assert_eq!(GetCapsetInfo::SIZE, 32);
    assert_eq!(GetCapset::SIZE, 32);
    assert_eq!(RespCapsetInfo::SIZE, 40);
    assert_eq!(CtxCreate::SIZE, 96);
    assert_eq!(CtxDestroy::SIZE, 24);
    assert_eq!(CtxAttachResource::SIZE, 32);
    assert_eq!(CtxDetachResource::SIZE, 32);
    assert_eq!(ResourceCreate3d::SIZE, 72);
    assert_eq!(TransferToHost3d::SIZE, 72);
    assert_eq!(TransferFromHost3d::SIZE, 72);
    assert_eq!(Submit3d::SIZE, 32);
}

#[test]
fn types_of_the_3d_commands_are_the_c_enum() {
    for (t, v) in [
        (CtrlType::CTX_CREATE, 0x200),
        (CtrlType::CTX_DESTROY, 0x201),
        (CtrlType::CTX_ATTACH_RESOURCE, 0x202),
        (CtrlType::CTX_DETACH_RESOURCE, 0x203),
        (CtrlType::RESOURCE_CREATE_3D, 0x204),
        (CtrlType::TRANSFER_TO_HOST_3D, 0x205),
        (CtrlType::TRANSFER_FROM_HOST_3D, 0x206),
        (CtrlType::SUBMIT_3D, 0x207),
    ] {
        assert_eq!(t.0, v);
    }
    assert_eq!(FLAG_INFO_RING_IDX, 2);
}

#[test]
fn ctx_create_literal_bytes_and_name_cut() {
    let c = CtxCreate::new(7, 0, b"kmscube");
    let mut name = [0u8; 64];
    name[..7].copy_from_slice(b"kmscube");
    let mut want = layout(32, &{
        let mut f = unfenced(0x200, 7);
        f.extend([(24, F::U32(7)), (28, F::U32(0))]);
        f
    });
    want.extend_from_slice(&name);
    assert_eq!(bytes(&c), want);
    // 64 bytes of name: 63 are sent, NUL-terminated, and nlen says 63.
    let long = [b'x'; 80];
    let c = CtxCreate::new(1, 0, &long);
    assert_eq!(c.nlen, 63);
    assert_eq!(c.debug_name[62], b'x');
    assert_eq!(c.debug_name[63], 0);
}

#[test]
fn resource_create_3d_and_transfers_literal_bytes() {
    let c = ResourceCreate3d {
        hdr: CtrlHdr::new(ResourceCreate3d::TYPE),
        resource_id: 5,
        target: 2,
        format: 1,
        bind: 2,
        width: 64,
        height: 32,
        depth: 1,
        array_size: 1,
        last_level: 0,
        nr_samples: 0,
        flags: 0,
        padding: 0,
    };
    let mut f = unfenced(0x204, 0);
    for (i, v) in [5, 2, 1, 2, 64, 32, 1, 1, 0, 0, 0, 0].iter().enumerate() {
        f.push((24 + 4 * i, F::U32(*v)));
    }
    assert_eq!(bytes(&c), layout(72, &f));

    let mut hdr = CtrlHdr::new(TransferFromHost3d::TYPE);
    hdr.ctx_id = 3;
    let t = TransferFromHost3d {
        hdr,
        box_: Box3d {
            x: 1,
            y: 2,
            z: 3,
            w: 4,
            h: 5,
            d: 6,
        },
        offset: 0x1_0000_0002,
        resource_id: 9,
        level: 1,
        stride: 256,
        layer_stride: 4096,
    };
    let mut f = unfenced(0x206, 3);
    for (i, v) in [1, 2, 3, 4, 5, 6].iter().enumerate() {
        f.push((24 + 4 * i, F::U32(*v)));
    }
    f.extend([
        (48, F::U64(0x1_0000_0002)),
        (56, F::U32(9)),
        (60, F::U32(1)),
        (64, F::U32(256)),
        (68, F::U32(4096)),
    ]);
    assert_eq!(bytes(&t), layout(72, &f));
}

#[test]
fn submit_3d_carries_its_commands() {
    let mut hdr = CtrlHdr::new(Submit3d::TYPE);
    hdr.ctx_id = 2;
    hdr.flags = FLAG_FENCE;
    hdr.fence_id = 77;
    let cmds = [1u8, 2, 3, 4, 5, 6, 7, 8];
    let mut out = vec![0u8; submit_3d_size(cmds.len()).unwrap()];
    encode_submit_3d(hdr, &cmds, &mut out).unwrap();
    let mut want = layout(
        32,
        &[
            (0, F::U32(0x207)),
            (4, F::U32(FLAG_FENCE)),
            (8, F::U64(77)),
            (16, F::U32(2)),
            (20, F::U8(0)),
            (21, F::Zero(3)),
            (24, F::U32(8)),
            (28, F::U32(0)),
        ],
    );
    want.extend_from_slice(&cmds);
    assert_eq!(out, want);
    // A buffer too small is refused, not overrun.
    let mut short = vec![0u8; 39];
    assert_eq!(
        encode_submit_3d(hdr, &cmds, &mut short),
        Err(ProtoError::BadValue)
    );
    assert_eq!(submit_3d_size(usize::MAX), None);
}

fn capset_info_resp(id: u32, ver: u32, size: u32) -> Vec<u8> {
    let mut b = resp(0x1102, 0, 0, 40);
    b[24..28].copy_from_slice(&id.to_le_bytes());
    b[28..32].copy_from_slice(&ver.to_le_bytes());
    b[32..36].copy_from_slice(&size.to_le_bytes());
    b
}

#[test]
fn capset_info_responses_are_validated() {
    let cmd = CtrlHdr::new(CtrlType::GET_CAPSET_INFO);
    let ok = RespCapsetInfo::parse(&capset_info_resp(2, 2, 1376), &cmd).unwrap();
    assert_eq!(
        (ok.capset_id, ok.capset_max_version, ok.capset_max_size),
        (2, 2, 1376)
    );
    // Ids outside 1..=63 (the C driver's check) and absurd sizes are refused.
    for (id, size) in [(0, 16), (64, 16), (u32::MAX, 16), (1, CAPSET_MAX_SIZE + 1)] {
        assert_eq!(
            RespCapsetInfo::parse(&capset_info_resp(id, 1, size), &cmd),
            Err(ProtoError::BadValue),
            "id {id} size {size}"
        );
    }
    let short = &capset_info_resp(1, 1, 16)[..39];
    assert!(matches!(
        RespCapsetInfo::parse(short, &cmd),
        Err(ProtoError::Short { .. })
    ));
    let mut wrong = capset_info_resp(1, 1, 16);
    wrong[0..4].copy_from_slice(&0x1100u32.to_le_bytes());
    assert_eq!(
        RespCapsetInfo::parse(&wrong, &cmd),
        Err(ProtoError::UnexpectedType(CtrlType::RESP_OK_NODATA))
    );
}

#[test]
fn capset_data_is_cut_to_the_capset_size() {
    let cmd = CtrlHdr::new(CtrlType::GET_CAPSET);
    let mut b = resp(0x1103, 0, 0, 24 + 8);
    b[24..].copy_from_slice(&[9, 8, 7, 6, 5, 4, 3, 2]);
    assert_eq!(
        parse_capset(&b, &cmd, 8),
        Ok(&[9u8, 8, 7, 6, 5, 4, 3, 2][..])
    );
    assert_eq!(parse_capset(&b, &cmd, 4), Ok(&[9u8, 8, 7, 6][..]));
    assert!(matches!(
        parse_capset(&b, &cmd, 9),
        Err(ProtoError::Short { .. })
    ));
    let err = resp(0x1200, 0, 0, 24);
    assert_eq!(
        parse_capset(&err, &cmd, 8),
        Err(ProtoError::Device(CtrlType::RESP_ERR_UNSPEC))
    );
}

const QEMU: [CapsetInfo; 2] = [
    CapsetInfo {
        id: 1,
        max_version: 1,
        max_size: 308,
    },
    CapsetInfo {
        id: 2,
        max_version: 2,
        max_size: 1376,
    },
];

#[test]
fn get_caps_checks_in_the_c_drivers_order() {
    // No capsets: ENOSYS, before the size is looked at.
    assert_eq!(lookup(&[], 2, 0, 0), Err(CapsError::NoCapsets));
    assert_eq!(lookup(&QEMU, 2, 0, 0), Err(CapsError::Invalid));
    assert_eq!(lookup(&QEMU, 3, 0, 16), Err(CapsError::Invalid));
    assert_eq!(lookup(&QEMU, 1, 2, 16), Err(CapsError::Invalid));
    // max_version >= requested version.
    assert_eq!(lookup(&QEMU, 2, 2, 16), Ok((QEMU[1], 16)));
    assert_eq!(lookup(&QEMU, 2, 0, 16), Ok((QEMU[1], 16)));
    // The copy is the request's size, at most the capset's.
    assert_eq!(lookup(&QEMU, 1, 0, 4096), Ok((QEMU[0], 308)));
    assert_eq!(lookup(&QEMU, 2, 1, u32::MAX), Ok((QEMU[1], 1376)));
}

#[test]
fn capset_id_mask() {
    assert_eq!(id_mask(&QEMU), 0b110);
    assert_eq!(id_mask(&[]), 0);
    let odd = [
        CapsetInfo { id: 63, ..QEMU[0] },
        CapsetInfo { id: 64, ..QEMU[0] },
    ];
    assert_eq!(id_mask(&odd), 1 << 63);
}
