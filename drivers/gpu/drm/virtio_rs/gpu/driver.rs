// SPDX-License-Identifier: GPL-2.0

//! The DRM driver: device data, per-file data, GEM objects backed by host resources.

#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use kernel::{
    c_str, new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
    types::ARef,
};

use super::{
    commands::Control,
    display::Displays,
    dumb,
    idalloc::IdAllocator,
    ioctl,
    params::Caps,
    protocol::{format, MemEntry},
};
use crate::{
    drm::{
        self, driver as drv,
        gem::Object,
        ioctl::RENDER_ALLOW,
        uapi::{self, virtgpu},
    },
    drm_ioctls,
    virtio::Queue,
};

/// The DRM driver of virtio-gpu.
pub(crate) struct GpuDrm;

/// A DRM device of ours.
pub(crate) type GpuDrmDevice = drm::Device<GpuDrm>;

/// A GEM object of ours.
pub(crate) type GpuObject = Object<GpuDrm>;

/// Words of the resource id bitmap: 2048 * 64 = 131072 ids.
const ID_WORDS: usize = 2048;

/// Largest buffer object the driver creates (its pages are pinned for the host).
pub(crate) const MAX_OBJECT_SIZE: u64 = 1 << 30;

/// Device state shared by everything that uses the DRM device; lives as long as it does.
#[pin_data]
pub(crate) struct GpuShared {
    /// Number of scanouts (heads), 1 to 16.
    pub(crate) num_scanouts: u32,
    /// Number of capsets the host offers.
    pub(crate) num_capsets: u32,
    /// The device answers `GET_EDID`.
    pub(crate) has_edid: bool,
    /// Give the device DMA addresses (it uses the DMA API) rather than physical ones.
    pub(crate) use_dma: bool,
    /// What userspace is told through `GETPARAM`.
    pub(crate) caps: Caps,
    /// The control queue.
    pub(crate) control: Control,
    /// The cursor queue.
    pub(crate) cursor: Arc<Queue>,
    /// What the host reported about its displays.
    #[pin]
    pub(crate) displays: Displays,
    /// Host resource ids in use.
    #[pin]
    ids: Mutex<IdAllocator<KVec<u64>>>,
}

/// What [`GpuShared::new`] needs to know about the device.
pub(crate) struct SharedInit {
    /// Number of scanouts.
    pub(crate) num_scanouts: u32,
    /// Number of capsets.
    pub(crate) num_capsets: u32,
    /// `GET_EDID` supported.
    pub(crate) has_edid: bool,
    /// Use DMA addresses.
    pub(crate) use_dma: bool,
    /// The control queue.
    pub(crate) control: Arc<Queue>,
    /// The cursor queue.
    pub(crate) cursor: Arc<Queue>,
}

impl GpuShared {
    /// Creates the shared state.
    pub(crate) fn new(i: SharedInit) -> Result<impl PinInit<Self, Error>> {
        let displays = Displays::new(i.num_scanouts)?;
        let bits = KVec::from_elem(0u64, ID_WORDS, GFP_KERNEL)?;
        Ok(try_pin_init!(Self {
            displays <- displays,
            ids <- new_mutex!(IdAllocator::new(bits)),
            num_scanouts: i.num_scanouts,
            num_capsets: i.num_capsets,
            has_edid: i.has_edid,
            use_dma: i.use_dma,
            caps: Caps::default(),
            control: Control::new(i.control),
            cursor: i.cursor,
        }))
    }
}

/// Per-open-file state (contexts come with 3D).
pub(crate) struct GpuFile;

/// Per-object state: the host resource behind a GEM object.
#[derive(Default)]
pub(crate) struct ResourceState {
    /// Host resource id; 0 until one is allocated.
    id: AtomicU32,
    /// The host has created the resource (it must be destroyed with `RESOURCE_UNREF`).
    created: AtomicBool,
}

impl ResourceState {
    /// The host resource id (0 if none).
    pub(crate) fn id(&self) -> u32 {
        self.id.load(Ordering::Acquire)
    }
}

/// Creates a GEM object of `size` bytes backed by a host 2D resource of `format`,
/// `width` x `height`, with the object's pages attached as the resource's backing.
pub(crate) fn create_resource(
    dev: &GpuDrmDevice,
    size: u64,
    format: u32,
    width: u32,
    height: u32,
) -> Result<ARef<GpuObject>> {
    if size == 0 || size > MAX_OBJECT_SIZE {
        return Err(EINVAL);
    }
    let obj = GpuObject::new(dev, usize::try_from(size)?)?;
    let _guard = dev.enter().ok_or(ENODEV)?;
    let shared = dev.data();
    let id = shared.ids.lock().alloc().ok_or(ENOSPC)?;
    // From here on, dropping `obj` frees the id (and the resource once created).
    obj.data().id.store(id, Ordering::Release);
    shared
        .control
        .resource_create_2d(id, format, width, height)?;
    obj.data().created.store(true, Ordering::Release);
    let ranges = obj.backing(shared.use_dma)?;
    shared.control.resource_attach_backing(
        id,
        ranges.iter().map(|r| MemEntry {
            addr: r.addr,
            length: r.len,
            padding: 0,
        }),
    )?;
    Ok(obj)
}

impl drm::Driver for GpuDrm {
    type Data = GpuShared;
    type File = GpuFile;
    type Object = ResourceState;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        name: c_str!("virtio_gpu"),
        desc: c_str!("virtio GPU"),
        date: c_str!("0"),
        major: 0,
        minor: 1,
        patchlevel: 0,
    };

    // MODESET and ATOMIC: the device has 1 to 16 scanouts (probe refuses 0, the one case
    // in which the C driver drops them). CURSOR_HOTSPOT as the C driver: the host draws the
    // cursor and needs its hotspot.
    const FEATURES: u32 = drv::FEAT_GEM
        | drv::FEAT_RENDER
        | drv::FEAT_MODESET
        | drv::FEAT_ATOMIC
        | drv::FEAT_CURSOR_HOTSPOT;

    const IOCTLS: &'static [drm::ioctl::Desc] = drm_ioctls!(GpuDrm;
        (virtgpu::MAP, ioctl::Map, RENDER_ALLOW, "VIRTGPU_MAP"),
        (virtgpu::EXECBUFFER, ioctl::ExecBuffer, RENDER_ALLOW, "VIRTGPU_EXECBUFFER"),
        (virtgpu::GETPARAM, ioctl::GetParam, RENDER_ALLOW, "VIRTGPU_GETPARAM"),
        (virtgpu::RESOURCE_CREATE, ioctl::ResourceCreate, RENDER_ALLOW, "VIRTGPU_RESOURCE_CREATE"),
        (virtgpu::RESOURCE_INFO, ioctl::ResourceInfo, RENDER_ALLOW, "VIRTGPU_RESOURCE_INFO"),
        (virtgpu::TRANSFER_FROM_HOST, ioctl::TransferFromHost, RENDER_ALLOW, "VIRTGPU_TRANSFER_FROM_HOST"),
        (virtgpu::TRANSFER_TO_HOST, ioctl::TransferToHost, RENDER_ALLOW, "VIRTGPU_TRANSFER_TO_HOST"),
        (virtgpu::WAIT, ioctl::Wait, RENDER_ALLOW, "VIRTGPU_WAIT"),
        (virtgpu::GET_CAPS, ioctl::GetCaps, RENDER_ALLOW, "VIRTGPU_GET_CAPS"),
        (virtgpu::RESOURCE_CREATE_BLOB, ioctl::ResourceCreateBlob, RENDER_ALLOW, "VIRTGPU_RESOURCE_CREATE_BLOB"),
        (virtgpu::CONTEXT_INIT, ioctl::ContextInit, RENDER_ALLOW, "VIRTGPU_CONTEXT_INIT"),
    );

    fn open(_dev: &GpuDrmDevice) -> Result<Pin<KBox<GpuFile>>> {
        Ok(KBox::pin(GpuFile, GFP_KERNEL)?)
    }

    fn dumb_create(
        dev: &GpuDrmDevice,
        file: &drm::File<GpuDrm>,
        args: &mut uapi::drm_mode_create_dumb,
    ) -> Result {
        let layout = dumb::layout(args.width, args.height, args.bpp).map_err(|_| EINVAL)?;
        // XRGB8888 in DRM terms is B, G, R, X in memory on a little-endian guest.
        let obj = create_resource(
            dev,
            layout.size,
            format::B8G8R8X8_UNORM,
            args.width,
            args.height,
        )?;
        args.handle = obj.create_handle(file)?;
        args.pitch = layout.pitch;
        args.size = layout.size;
        Ok(())
    }

    fn free_object(dev: &GpuDrmDevice, obj: &GpuObject) {
        let state = obj.data();
        let id = state.id();
        if id == 0 {
            return;
        }
        let shared = dev.data();
        if state.created.load(Ordering::Acquire) {
            // Without the device (unplugged) there is nothing to destroy: the reset at
            // remove dropped every host resource.
            if let Some(_guard) = dev.enter() {
                // The host must let go of the backing pages before they are freed, which
                // happens right after this returns.
                if let Err(e) = shared.control.resource_unref(id) {
                    pr_warn!("resource {}: unref failed: {:?}\n", id, e);
                }
            }
        }
        if !shared.ids.lock().free(id) {
            pr_warn!("resource {}: id was not allocated\n", id);
        }
    }
}
