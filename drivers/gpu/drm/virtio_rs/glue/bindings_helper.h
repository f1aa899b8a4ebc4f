/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input of bindgen for the module-local bindings (see the driver's Makefile).
 *
 * Lists the C headers the driver uses beyond what the 6.12 `kernel` crate binds.
 */

#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_ioctl.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <uapi/drm/virtgpu_drm.h>
#include <uapi/linux/virtio_gpu.h>
#include <uapi/linux/virtio_ids.h>
#include <virtio_gpu_rs/helpers.h>

/* The virtgpu ioctl numbers (function-like macros, which bindgen cannot expand). */
#define VGRS_IOCTL(name) const unsigned int RUST_CONST_HELPER_##name = name
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_MAP);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_EXECBUFFER);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_GETPARAM);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_RESOURCE_CREATE);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_RESOURCE_INFO);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_WAIT);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_GET_CAPS);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB);
VGRS_IOCTL(DRM_IOCTL_VIRTGPU_CONTEXT_INIT);
