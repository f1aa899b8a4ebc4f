// SPDX-License-Identifier: GPL-2.0

//! `VIRTGPU_RESOURCE_CREATE_BLOB`: which blob a request asks for, checked with the 6.12 C
//! driver's rules (`verify_blob` in `virtgpu_ioctl.c`): every refusal there is `EINVAL`.
//!
//! A blob lives in guest memory (`BLOB_MEM_GUEST`: the guest's pages back it), in host memory
//! of a 3D context (`BLOB_MEM_HOST3D`: made by the context's `blob_id`, optionally after a
//! command stream that creates it), or both (`BLOB_MEM_HOST3D_GUEST`). The device must offer
//! `VIRTIO_GPU_F_RESOURCE_BLOB`; host blobs need virgl; cross-device sharing needs
//! `VIRTIO_GPU_F_RESOURCE_UUID`.
//!
//! The ioctl answers `EINVAL` before this runs while the driver does not negotiate blobs
//! (QEMU 7.2 here offers none, so the blob path cannot run); this is the host-tested core of
//! the request check the full path will use.
//!
//! Pure `core` code: also built by the host tests.

#![forbid(unsafe_code)]

/// `VIRTGPU_BLOB_MEM_GUEST`.
pub(crate) const BLOB_MEM_GUEST: u32 = 0x0001;
/// `VIRTGPU_BLOB_MEM_HOST3D`.
pub(crate) const BLOB_MEM_HOST3D: u32 = 0x0002;
/// `VIRTGPU_BLOB_MEM_HOST3D_GUEST`.
pub(crate) const BLOB_MEM_HOST3D_GUEST: u32 = 0x0003;

/// `VIRTGPU_BLOB_FLAG_USE_MAPPABLE`.
pub(crate) const BLOB_FLAG_USE_MAPPABLE: u32 = 0x0001;
/// `VIRTGPU_BLOB_FLAG_USE_SHAREABLE`.
pub(crate) const BLOB_FLAG_USE_SHAREABLE: u32 = 0x0002;
/// `VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE`.
pub(crate) const BLOB_FLAG_USE_CROSS_DEVICE: u32 = 0x0004;
/// `VIRTGPU_BLOB_FLAG_USE_MASK`: every flag the uapi defines.
pub(crate) const BLOB_FLAG_USE_MASK: u32 =
    BLOB_FLAG_USE_MAPPABLE | BLOB_FLAG_USE_SHAREABLE | BLOB_FLAG_USE_CROSS_DEVICE;

/// What the device offers that blobs depend on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BlobCaps {
    /// `VIRTIO_GPU_F_RESOURCE_BLOB` was negotiated.
    pub(crate) blob: bool,
    /// `VIRTIO_GPU_F_RESOURCE_UUID` was negotiated.
    pub(crate) uuid: bool,
    /// `VIRTIO_GPU_F_VIRGL` was negotiated.
    pub(crate) virgl: bool,
}

/// The fields of `struct drm_virtgpu_resource_create_blob` the check reads.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BlobRequest {
    /// `blob_mem`.
    pub(crate) blob_mem: u32,
    /// `blob_flags`.
    pub(crate) blob_flags: u32,
    /// `size`.
    pub(crate) size: u64,
    /// `cmd_size`: bytes of the command stream run before the blob is made (host blobs only).
    pub(crate) cmd_size: u32,
    /// `blob_id`: which of the context's host objects (host blobs only).
    pub(crate) blob_id: u64,
}

/// A request that passed the check: what to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blob {
    /// Backed by guest pages (a shmem object, its pages attached to the resource).
    pub(crate) guest: bool,
    /// Made by a 3D context from `blob_id` (the file's context is created first).
    pub(crate) host3d: bool,
    /// `blob_mem`, as the device wants it.
    pub(crate) mem: u32,
    /// `blob_flags`.
    pub(crate) flags: u32,
    /// Size in bytes.
    pub(crate) size: u64,
    /// `blob_id` (0 for guest blobs).
    pub(crate) blob_id: u64,
    /// Bytes of command stream to submit first (0 for guest blobs).
    pub(crate) cmd_size: u32,
}

/// Checks a request as the C driver's `verify_blob` does; `None` is `EINVAL`. (The size is
/// not checked there either: a guest blob's size is the shmem object's, which fails on its
/// own for 0 or for more memory than the guest has.)
pub(crate) fn verify(caps: BlobCaps, req: &BlobRequest) -> Option<Blob> {
    if !caps.blob {
        return None;
    }
    if req.blob_flags & !BLOB_FLAG_USE_MASK != 0 {
        return None;
    }
    if req.blob_flags & BLOB_FLAG_USE_CROSS_DEVICE != 0 && !caps.uuid {
        return None;
    }
    let (guest, host3d) = match req.blob_mem {
        BLOB_MEM_GUEST => (true, false),
        BLOB_MEM_HOST3D_GUEST => (true, true),
        BLOB_MEM_HOST3D => (false, true),
        _ => return None,
    };
    if host3d {
        // Host blobs need a 3D context; the command stream must be whole dwords.
        if !caps.virgl || req.cmd_size % 4 != 0 {
            return None;
        }
    } else if req.blob_id != 0 || req.cmd_size != 0 {
        return None;
    }
    Some(Blob {
        guest,
        host3d,
        mem: req.blob_mem,
        flags: req.blob_flags,
        size: req.size,
        blob_id: if host3d { req.blob_id } else { 0 },
        cmd_size: if host3d { req.cmd_size } else { 0 },
    })
}
