// SPDX-License-Identifier: GPL-2.0

//! Tests of `gpu/blob.rs` against the 6.12 C driver's `verify_blob`: each case names the line
//! of the C function it mirrors.

use crate::blob::*;

const ALL: BlobCaps = BlobCaps {
    blob: true,
    uuid: true,
    virgl: true,
};

fn req(blob_mem: u32) -> BlobRequest {
    BlobRequest {
        blob_mem,
        size: 4096,
        ..BlobRequest::default()
    }
}

#[test]
fn without_blob_support_every_request_is_refused() {
    let caps = BlobCaps { blob: false, ..ALL };
    for mem in [BLOB_MEM_GUEST, BLOB_MEM_HOST3D, BLOB_MEM_HOST3D_GUEST] {
        assert_eq!(verify(caps, &req(mem)), None);
    }
}

#[test]
fn the_three_kinds_of_blob() {
    let g = verify(ALL, &req(BLOB_MEM_GUEST)).unwrap();
    assert!(g.guest && !g.host3d);
    let h = verify(ALL, &req(BLOB_MEM_HOST3D)).unwrap();
    assert!(!h.guest && h.host3d);
    let hg = verify(ALL, &req(BLOB_MEM_HOST3D_GUEST)).unwrap();
    assert!(hg.guest && hg.host3d);
    assert_eq!(hg.mem, BLOB_MEM_HOST3D_GUEST);
    for bad in [0, 4, u32::MAX] {
        assert_eq!(verify(ALL, &req(bad)), None, "blob_mem {bad}");
    }
}

#[test]
fn flags_outside_the_mask_and_cross_device_without_uuid_are_refused() {
    let mut r = req(BLOB_MEM_GUEST);
    r.blob_flags = BLOB_FLAG_USE_MAPPABLE | BLOB_FLAG_USE_SHAREABLE;
    assert!(verify(ALL, &r).is_some());
    r.blob_flags = 8;
    assert_eq!(verify(ALL, &r), None);
    r.blob_flags = BLOB_FLAG_USE_CROSS_DEVICE;
    assert!(verify(ALL, &r).is_some());
    let no_uuid = BlobCaps { uuid: false, ..ALL };
    assert_eq!(verify(no_uuid, &r), None);
}

#[test]
fn host_blobs_need_virgl_and_whole_dwords_of_commands() {
    let mut r = req(BLOB_MEM_HOST3D);
    r.blob_id = 7;
    r.cmd_size = 12;
    let b = verify(ALL, &r).unwrap();
    assert_eq!((b.blob_id, b.cmd_size), (7, 12));
    let no_virgl = BlobCaps {
        virgl: false,
        ..ALL
    };
    assert_eq!(verify(no_virgl, &r), None);
    r.cmd_size = 6;
    assert_eq!(verify(ALL, &r), None);
}

#[test]
fn guest_blobs_take_no_blob_id_and_no_commands() {
    let mut r = req(BLOB_MEM_GUEST);
    r.blob_id = 1;
    assert_eq!(verify(ALL, &r), None);
    r.blob_id = 0;
    r.cmd_size = 4;
    assert_eq!(verify(ALL, &r), None);
    // Guest blobs need no virgl.
    let no_virgl = BlobCaps {
        virgl: false,
        ..ALL
    };
    r.cmd_size = 0;
    assert!(verify(no_virgl, &r).is_some());
}
