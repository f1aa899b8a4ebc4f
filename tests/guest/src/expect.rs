// SPDX-License-Identifier: GPL-2.0
//! What the C `virtio_gpu` driver (Linux 6.12) answers on QEMU's `virtio-gpu-pci` with its
//! defaults as `qemu/run.py` starts it (TCG, no virgl, no blob, no context-init), observed in
//! the guest and matched against the C source. Our driver is held to the same answers: a
//! check fails if its errno (or value) differs, and the detail names both.

use rustix::io::Errno;

/// The errno the C driver returns, per check name, with where it comes from. The `virgl/`
/// checks are made on the 3D device (`virtio-vga-gl`), whose host offers capsets.
pub const C_ERRNO: &[(&str, Errno, &str)] = &[
    (
        "virgl/get-caps-size0",
        Errno::INVAL,
        "virtio_gpu_get_caps_ioctl: size == 0",
    ),
    (
        "virgl/get-caps-bad-id",
        Errno::INVAL,
        "virtio_gpu_get_caps_ioctl: no capset with this id",
    ),
    (
        "virgl/get-caps-bad-version",
        Errno::INVAL,
        "virtio_gpu_get_caps_ioctl: max_version < cap_set_ver",
    ),
    (
        "virgl/exec-bad-flags",
        Errno::INVAL,
        "virtio_gpu_execbuffer_ioctl: flags & ~VIRTGPU_EXECBUF_FLAGS",
    ),
    (
        "virgl/exec-ring-idx",
        Errno::INVAL,
        "virtio_gpu_execbuffer_ioctl: ring_idx >= num_rings (0 without context init)",
    ),
    (
        "virgl/exec-bad-bo",
        Errno::NOENT,
        "virtio_gpu_init_submit_buflist: array_from_handles fails",
    ),
    (
        "virgl/exec-dup-bo",
        Errno::ALREADY,
        "drm_gem_lock_reservations: the same ww_mutex twice",
    ),
    (
        "virgl/exec-cmd-efault",
        Errno::FAULT,
        "vmemdup_user: copy_from_user fails",
    ),
    (
        "virgl/exec-huge",
        Errno::NOMEM,
        "vmemdup_user: size > INT_MAX",
    ),
    (
        "virgl/exec-bad-fence-in",
        Errno::INVAL,
        "virtio_gpu_wait_in_fence: sync_file_get_fence(-1) is NULL",
    ),
    (
        "virgl/exec-out-syncobj-unknown",
        Errno::INVAL,
        "virtio_gpu_parse_post_deps: drm_syncobj_find is NULL",
    ),
    (
        "virgl/exec-in-syncobj-unknown",
        Errno::NOENT,
        "virtio_gpu_parse_deps: drm_syncobj_find_fence",
    ),
    (
        "virgl/exec-out-syncobj-flags",
        Errno::INVAL,
        "virtio_gpu_parse_post_deps: flags != 0",
    ),
    (
        "virgl/exec-in-syncobj-flags",
        Errno::INVAL,
        "virtio_gpu_parse_deps: flags & ~VIRTGPU_EXECBUF_SYNCOBJ_FLAGS",
    ),
    (
        "virgl/get-caps-efault",
        Errno::FAULT,
        "virtio_gpu_get_caps_ioctl: copy_to_user fails",
    ),
    (
        "hold/ioctl-after-unbind",
        Errno::NODEV,
        "drm_ioctl: drm_dev_is_unplugged",
    ),
    (
        "getparam/bad-0",
        Errno::INVAL,
        "virtio_gpu_getparam_ioctl default case",
    ),
    (
        "getparam/bad-1000",
        Errno::INVAL,
        "virtio_gpu_getparam_ioctl default case",
    ),
    (
        "render/dumb-create",
        Errno::ACCESS,
        "drm_ioctl_permit: no DRM_RENDER_ALLOW",
    ),
    (
        "dumb/bad-bpp16",
        Errno::INVAL,
        "virtio_gpu_mode_dumb_create: bpp != 32",
    ),
    ("dumb/bad-bpp0", Errno::INVAL, "drm_mode_create_dumb: !bpp"),
    (
        "dumb/bad-width0",
        Errno::INVAL,
        "drm_mode_create_dumb: !width",
    ),
    (
        "dumb/bad-height0",
        Errno::INVAL,
        "drm_mode_create_dumb: !height",
    ),
    (
        "dumb/bad-huge",
        Errno::INVAL,
        "drm_mode_create_dumb: 32-bit size overflow",
    ),
    (
        "dumb/bad-width-max",
        Errno::INVAL,
        "drm_mode_create_dumb: cpp > U32_MAX / width",
    ),
    (
        "dumb/map-bad-handle",
        Errno::NOENT,
        "virtio_gpu_mode_dumb_mmap: lookup fails",
    ),
    (
        "dumb/destroy-bad-handle",
        Errno::INVAL,
        "drm_gem_handle_delete: no such handle",
    ),
    (
        "dumb/double-destroy",
        Errno::INVAL,
        "drm_gem_handle_delete: no such handle",
    ),
    (
        "gem/close-bad-handle",
        Errno::INVAL,
        "drm_gem_handle_delete: no such handle",
    ),
    (
        "virtgpu/execbuffer",
        Errno::NOSYS,
        "virtio_gpu_execbuffer_ioctl: !has_virgl_3d",
    ),
    (
        "virtgpu/transfer-from-host",
        Errno::NOSYS,
        "transfer_from_host: !has_virgl_3d",
    ),
    (
        "virtgpu/get-caps",
        Errno::NOSYS,
        "virtio_gpu_get_caps_ioctl: num_capsets == 0",
    ),
    (
        "virtgpu/context-init",
        Errno::INVAL,
        "context_init: !has_context_init",
    ),
    (
        "virtgpu/resource-create-blob",
        Errno::INVAL,
        "verify_blob: !has_resource_blob",
    ),
    (
        "virtgpu/create-bad-target",
        Errno::INVAL,
        "resource_create (2D): target != 2",
    ),
    (
        "virtgpu/create-bad-depth",
        Errno::INVAL,
        "resource_create (2D): depth > 1",
    ),
    (
        "virtgpu/info-bad-handle",
        Errno::NOENT,
        "resource_info: lookup fails",
    ),
    (
        "virtgpu/map-bad-handle",
        Errno::NOENT,
        "virtio_gpu_mode_dumb_mmap: lookup fails",
    ),
    (
        "virtgpu/wait-bad-handle",
        Errno::NOENT,
        "wait: lookup fails",
    ),
    (
        "virtgpu/transfer-bad-handle",
        Errno::NOENT,
        "transfer_to_host: array_from_handles",
    ),
];

/// GET_CAP values the C driver reports, per check name.
pub const C_CAP: &[(&str, u64, &str)] = &[
    ("caps/dumb-buffer", 1, "dumb_create is set"),
    // virtio_gpu never sets mode_config.preferred_depth, so the core reports 0 (not 24).
    (
        "caps/preferred-depth",
        0,
        "mode_config.preferred_depth unset",
    ),
    ("caps/prefer-shadow", 0, "mode_config.prefer_shadow unset"),
    (
        "caps/prime",
        3,
        "DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT",
    ),
];

pub fn c_errno(check: &str) -> Option<Errno> {
    C_ERRNO
        .iter()
        .find(|(n, _, _)| *n == check)
        .map(|(_, e, _)| *e)
}

pub fn c_cap(check: &str) -> Option<u64> {
    C_CAP
        .iter()
        .find(|(n, _, _)| *n == check)
        .map(|(_, v, _)| *v)
}

/// The symbolic name of an errno, e.g. "EINVAL".
pub fn errno_name(e: Errno) -> String {
    const NAMES: &[(Errno, &str)] = &[
        (Errno::PERM, "EPERM"),
        (Errno::NOENT, "ENOENT"),
        (Errno::SRCH, "ESRCH"),
        (Errno::INTR, "EINTR"),
        (Errno::IO, "EIO"),
        (Errno::NXIO, "ENXIO"),
        (Errno::TOOBIG, "E2BIG"),
        (Errno::BADF, "EBADF"),
        (Errno::AGAIN, "EAGAIN"),
        (Errno::NOMEM, "ENOMEM"),
        (Errno::ACCESS, "EACCES"),
        (Errno::FAULT, "EFAULT"),
        (Errno::BUSY, "EBUSY"),
        (Errno::EXIST, "EEXIST"),
        (Errno::NODEV, "ENODEV"),
        (Errno::INVAL, "EINVAL"),
        (Errno::NOSPC, "ENOSPC"),
        (Errno::NOTTY, "ENOTTY"),
        (Errno::RANGE, "ERANGE"),
        (Errno::NOSYS, "ENOSYS"),
        (Errno::OVERFLOW, "EOVERFLOW"),
        (Errno::OPNOTSUPP, "EOPNOTSUPP"),
        (Errno::TIMEDOUT, "ETIMEDOUT"),
        (Errno::CANCELED, "ECANCELED"),
        (Errno::ALREADY, "EALREADY"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == e)
        .map(|(_, s)| (*s).to_string())
        .unwrap_or_else(|| format!("errno{}", e.raw_os_error()))
}
