/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Out-of-line wrappers for the static inline functions and macros of the
 * virtio and DRM headers that the Rust side of virtio_gpu_rs calls.
 *
 * Each wrapper forwards to exactly one kernel helper and has no behaviour of
 * its own; bindgen turns these prototypes into the `vgrs_*` functions of the
 * module-local bindings.
 */
#ifndef _VIRTIO_GPU_RS_HELPERS_H
#define _VIRTIO_GPU_RS_HELPERS_H

#include <linux/types.h>

struct device;
struct module;
struct virtio_device;
struct virtio_driver;
struct virtqueue;
struct virtqueue_info;

int vgrs_register_virtio_driver(struct virtio_driver *drv, struct module *owner);
u32 vgrs_virtio_cread32(struct virtio_device *vdev, unsigned int offset);
void vgrs_virtio_cwrite32(struct virtio_device *vdev, unsigned int offset, u32 val);
void vgrs_virtio_device_ready(struct virtio_device *vdev);
const char *vgrs_dev_name(const struct device *dev);
int vgrs_virtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
			 struct virtqueue *vqs[], struct virtqueue_info vqs_info[]);
void vgrs_virtio_del_vqs(struct virtio_device *vdev);
bool vgrs_virtio_has_dma_quirk(const struct virtio_device *vdev);

#endif /* _VIRTIO_GPU_RS_HELPERS_H */
