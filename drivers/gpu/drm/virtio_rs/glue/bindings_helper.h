/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input of bindgen for the module-local bindings (see the driver's Makefile).
 *
 * Lists the C headers the driver uses beyond what the 6.12 `kernel` crate binds.
 */

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_connector.h>
#include <drm/drm_crtc.h>
#include <drm/drm_damage_helper.h>
#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_edid.h>
#include <drm/drm_encoder.h>
#include <drm/drm_fbdev_shmem.h>
#include <drm/drm_file.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_mode_config.h>
#include <drm/drm_modes.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_panic.h>
#include <drm/drm_plane.h>
#include <drm/drm_probe_helper.h>
#include <drm/drm_simple_kms_helper.h>
#include <drm/drm_syncobj.h>
#include <drm/drm_vblank.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/rcupdate.h>
#include <linux/sync_file.h>
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

/* Pixel formats (fourcc_code() is a function-like macro). */
#define VGRS_CONST(name) const unsigned int RUST_CONST_HELPER_##name = name
VGRS_CONST(DRM_FORMAT_HOST_XRGB8888);
VGRS_CONST(DRM_FORMAT_HOST_ARGB8888);
