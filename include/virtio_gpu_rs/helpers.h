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
#include <linux/workqueue_types.h>

struct delayed_work;
struct device;
struct dma_buf_attachment;
struct dma_resv;
struct drm_atomic_state;
struct drm_connector;
struct drm_connector_helper_funcs;
struct drm_crtc;
struct drm_crtc_helper_funcs;
struct drm_crtc_state;
struct drm_device;
struct drm_gem_object;
struct drm_plane;
struct drm_plane_helper_funcs;
struct drm_plane_state;
struct drm_printer;
struct hrtimer;
struct file_operations;
struct iosys_map;
struct scatterlist;
struct sg_table;
struct spinlock;
struct vm_area_struct;
struct module;
struct virtio_device;
struct virtio_driver;
struct virtqueue;
struct virtqueue_info;
struct work_struct;
struct workqueue_struct;

int vgrs_register_virtio_driver(struct virtio_driver *drv, struct module *owner);
u32 vgrs_virtio_cread32(struct virtio_device *vdev, unsigned int offset);
void vgrs_virtio_cwrite32(struct virtio_device *vdev, unsigned int offset, u32 val);
void vgrs_virtio_device_ready(struct virtio_device *vdev);
const char *vgrs_dev_name(const struct device *dev);
int vgrs_virtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
			 struct virtqueue *vqs[], struct virtqueue_info vqs_info[]);
void vgrs_virtio_del_vqs(struct virtio_device *vdev);
bool vgrs_virtio_has_dma_quirk(const struct virtio_device *vdev);

/* INIT_WORK and schedule_work (a macro and a static inline). */
void vgrs_init_work(struct work_struct *work, void (*func)(struct work_struct *work));
bool vgrs_schedule_work(struct work_struct *work);

/* alloc_workqueue("%s", 0, 0, name): a driver-owned workqueue (variadic in C). */
struct workqueue_struct *vgrs_alloc_workqueue(const char *name);

/* init_completion() (a static inline; one lockdep class for every waited-for request). */
void vgrs_init_completion(struct completion *x);

/*
 * How long a waited-for command may go unanswered before the device is reset (the
 * cmd_timeout_ms module parameter; 0: forever), and the fault-injection knob that drops the
 * device's next answers (debugfs vgrs_drop_responses, in each device's DRM directory):
 * vgrs_take_dropped_response() is true, and counts down, while it is non-zero.
 */
unsigned int vgrs_cmd_timeout_ms(void);
bool vgrs_take_dropped_response(void);
void vgrs_debugfs_fault_init(struct drm_device *dev);

/*
 * The queues' watchdog (virtio/virtqueue.rs): INIT_DELAYED_WORK at one call site,
 * schedule_delayed_work() on the system workqueue and to_delayed_work(), all static inlines
 * or macros.
 */
void vgrs_init_delayed_work(struct delayed_work *dwork, work_func_t fn);
bool vgrs_schedule_delayed_work(struct delayed_work *dwork, unsigned long delay);
struct delayed_work *vgrs_to_delayed_work(struct work_struct *work);

/*
 * spin_lock_init() at one call site (one lockdep class for the virtqueue ring locks) and
 * spin_trylock(): 6.12's Rust SpinLock has no try_lock (drm_panic must not wait for a lock).
 */
void vgrs_spin_lock_init(struct spinlock *lock);
bool vgrs_spin_trylock(struct spinlock *lock);

/*
 * DMA fences (static inlines in C): references, state, and what a driver's fence needs of
 * its module (a reference per live fence, see drm/fence.rs).
 */
struct dma_fence;
struct dma_fence *vgrs_dma_fence_get(struct dma_fence *fence);
void vgrs_dma_fence_put(struct dma_fence *fence);
bool vgrs_dma_fence_is_signaled(struct dma_fence *fence);
void vgrs_dma_fence_set_error(struct dma_fence *fence, int error);
void vgrs_fence_lock_init(struct spinlock *lock);

/* DRM sync objects and fence chain nodes (static inlines in C). */
struct drm_syncobj;
struct dma_fence_chain;
void vgrs_drm_syncobj_put(struct drm_syncobj *obj);
struct dma_fence_chain *vgrs_dma_fence_chain_alloc(void);
void vgrs_dma_fence_chain_free(struct dma_fence_chain *chain);
void vgrs_module_get(void);
void vgrs_module_put(void);

/* udelay(): busy-waits (drm_panic polls the device without sleeping). */
void vgrs_udelay(unsigned long usecs);

#ifdef VGRS_DEBUG
/* Debug builds only: the completion_delay_ms module parameter (see glue/helpers.c). */
unsigned int vgrs_debug_completion_delay_ms(void);
#endif

/* DRM file operations for GEM drivers (DRM_GEM_FOPS), owned by this module. */
extern const struct file_operations vgrs_drm_gem_fops;

void vgrs_drm_gem_object_get(struct drm_gem_object *obj);
void vgrs_drm_gem_object_put(struct drm_gem_object *obj);

/* The drm_gem_shmem_object_* helpers that DRM_GEM_SHMEM's default funcs use. */
void vgrs_gem_shmem_object_free(struct drm_gem_object *obj);
void vgrs_gem_shmem_object_print_info(struct drm_printer *p, unsigned int indent,
				      const struct drm_gem_object *obj);
int vgrs_gem_shmem_object_pin(struct drm_gem_object *obj);
void vgrs_gem_shmem_object_unpin(struct drm_gem_object *obj);
struct sg_table *vgrs_gem_shmem_object_get_sg_table(struct drm_gem_object *obj);
int vgrs_gem_shmem_object_vmap(struct drm_gem_object *obj, struct iosys_map *map);
void vgrs_gem_shmem_object_vunmap(struct drm_gem_object *obj, struct iosys_map *map);
int vgrs_gem_shmem_object_mmap(struct drm_gem_object *obj, struct vm_area_struct *vma);

/**
 * struct vgrs_mem_range - a run of contiguous memory, as the device addresses it
 * @addr: its guest physical or DMA address
 * @len: its length in bytes
 */
struct vgrs_mem_range {
	u64 addr;
	u32 len;
};

size_t vgrs_pages_to_ranges(struct page **pages, size_t n, struct vgrs_mem_range *out,
			    size_t max);

struct vfsmount;
struct drm_gem_shmem_object;
struct vfsmount *vgrs_huge_mount(void);
void vgrs_huge_unmount(struct vfsmount *mnt);
size_t vgrs_huge_page_size(void);
int vgrs_gem_shmem_use_mount(struct drm_gem_shmem_object *shmem, struct vfsmount *mnt);
int vgrs_dma_resv_lock_interruptible(struct dma_resv *obj);
void vgrs_dma_resv_unlock(struct dma_resv *obj);
u64 vgrs_sg_dma_address(struct scatterlist *sg);
unsigned int vgrs_sg_dma_len(struct scatterlist *sg);

/* KMS: drm_managed.h, the helper vtable setters and the atomic state accessors. */
void *vgrs_drmm_kzalloc(struct drm_device *dev, size_t size);
void vgrs_drm_crtc_helper_add(struct drm_crtc *crtc, const struct drm_crtc_helper_funcs *funcs);
void vgrs_drm_plane_helper_add(struct drm_plane *plane,
			       const struct drm_plane_helper_funcs *funcs);
void vgrs_drm_connector_helper_add(struct drm_connector *connector,
				   const struct drm_connector_helper_funcs *funcs);
struct drm_plane_state *vgrs_drm_atomic_get_old_plane_state(const struct drm_atomic_state *state,
							    struct drm_plane *plane);
struct drm_plane_state *vgrs_drm_atomic_get_new_plane_state(const struct drm_atomic_state *state,
							    struct drm_plane *plane);
struct drm_crtc_state *vgrs_drm_atomic_get_new_crtc_state(const struct drm_atomic_state *state,
							  struct drm_crtc *crtc);
/* Waits for the next vblank of each CRTC a commit turns off or modesets (at most 100 ms). */
void vgrs_atomic_wait_vblank_before_disables(struct drm_atomic_state *state);
bool vgrs_drm_atomic_crtc_needs_modeset(const struct drm_crtc_state *state);
/* drm_mode_config_reset(), then -ENOMEM if an object was left without a state. */
int vgrs_drm_mode_config_reset_checked(struct drm_device *dev);
int vgrs_drmm_add_action_or_reset(struct drm_device *dev,
				  void (*action)(struct drm_device *dev, void *data), void *data);

/* Emulated vblank: the hrtimer static inlines and the IRQ-disabling spinlock calls. */
void vgrs_hrtimer_start(struct hrtimer *timer, s64 tim);
u64 vgrs_hrtimer_forward_now(struct hrtimer *timer, s64 interval);
s64 vgrs_hrtimer_get_expires(const struct hrtimer *timer);
void vgrs_spin_lock_irq(struct spinlock *lock);
void vgrs_spin_unlock_irq(struct spinlock *lock);

#endif /* _VIRTIO_GPU_RS_HELPERS_H */
