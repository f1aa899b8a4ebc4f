// SPDX-License-Identifier: GPL-2.0

//! The uapi structs drivers handle, re-exported so the device core needs no `bindings::`.
//!
//! C headers: [`include/uapi/drm/drm_mode.h`](srctree/include/uapi/drm/drm_mode.h),
//! [`include/uapi/drm/virtgpu_drm.h`](srctree/include/uapi/drm/virtgpu_drm.h)

pub(crate) use crate::glue::bindings::{
    drm_mode_create_dumb, drm_virtgpu_3d_transfer_from_host, drm_virtgpu_3d_transfer_to_host,
    drm_virtgpu_3d_wait, drm_virtgpu_context_init, drm_virtgpu_execbuffer, drm_virtgpu_get_caps,
    drm_virtgpu_getparam, drm_virtgpu_map, drm_virtgpu_resource_create,
    drm_virtgpu_resource_create_blob, drm_virtgpu_resource_info,
};

/// The virtgpu ioctl numbers (`DRM_IOCTL_VIRTGPU_*`).
pub(crate) mod virtgpu {
    use crate::glue::bindings;

    /// `DRM_IOCTL_VIRTGPU_MAP`.
    pub(crate) const MAP: u32 = bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_MAP;
    /// `DRM_IOCTL_VIRTGPU_EXECBUFFER`.
    pub(crate) const EXECBUFFER: u32 = bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_EXECBUFFER;
    /// `DRM_IOCTL_VIRTGPU_GETPARAM`.
    pub(crate) const GETPARAM: u32 = bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_GETPARAM;
    /// `DRM_IOCTL_VIRTGPU_RESOURCE_CREATE`.
    pub(crate) const RESOURCE_CREATE: u32 =
        bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_RESOURCE_CREATE;
    /// `DRM_IOCTL_VIRTGPU_RESOURCE_INFO`.
    pub(crate) const RESOURCE_INFO: u32 =
        bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_RESOURCE_INFO;
    /// `DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST`.
    pub(crate) const TRANSFER_FROM_HOST: u32 =
        bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST;
    /// `DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST`.
    pub(crate) const TRANSFER_TO_HOST: u32 =
        bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST;
    /// `DRM_IOCTL_VIRTGPU_WAIT`.
    pub(crate) const WAIT: u32 = bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_WAIT;
    /// `DRM_IOCTL_VIRTGPU_GET_CAPS`.
    pub(crate) const GET_CAPS: u32 = bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_GET_CAPS;
    /// `DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB`.
    pub(crate) const RESOURCE_CREATE_BLOB: u32 =
        bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB;
    /// `DRM_IOCTL_VIRTGPU_CONTEXT_INIT`.
    pub(crate) const CONTEXT_INIT: u32 = bindings::RUST_CONST_HELPER_DRM_IOCTL_VIRTGPU_CONTEXT_INIT;
}
