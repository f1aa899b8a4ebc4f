// SPDX-License-Identifier: GPL-2.0

//! The DRM driver: device data, per-file data, GEM objects backed by host resources.

#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use kernel::{
    c_str, new_mutex,
    prelude::*,
    rbtree::RBTree,
    sync::{Arc, Mutex},
    types::ARef,
};

use super::{
    capsets::{self, CapsetInfo},
    commands::{self, Control, Cursor, Transfer2d},
    context::GpuFile,
    display::Displays,
    dumb,
    fence::FenceDriver,
    idalloc::IdAllocator,
    ioctl,
    params::Caps,
    protocol::{format, CtrlHdr, MemEntry, Rect, ResourceCreate3d},
};
use crate::{
    drm::{
        self, driver as drv, errno,
        gem::{
            shmem::{self, HugeMount, MemRange},
            DriverObject, DumbBuffer, DumbRequest,
        },
        ioctl::RENDER_ALLOW,
    },
    drm_ioctls,
    virtio::{self, Queue},
};

/// The DRM driver of virtio-gpu.
pub(crate) struct GpuDrm;

/// A DRM device of ours.
pub(crate) type GpuDrmDevice = drm::Device<GpuDrm>;

/// Proof that the device is plugged in (a `drm_dev_enter` section): every command takes one.
pub(crate) type Hw<'a> = drm::device::DeviceGuard<'a, GpuDrm>;

/// A GEM object of ours: shmem pages backing a host resource.
pub(crate) type GpuObject = shmem::Object<Resource>;

/// Words of the resource id bitmap: 2048 * 64 = 131072 ids.
const ID_WORDS: usize = 2048;

/// Words of the 3D context id bitmap: 1024 * 64 = 65536 contexts (one per open file).
const CTX_ID_WORDS: usize = 1024;

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
    /// `VIRGL` was negotiated: the host runs 3D commands, and userspace is offered them.
    pub(crate) has_virgl: bool,
    /// `CONTEXT_INIT` was negotiated: contexts of other types and with rings.
    pub(crate) has_context_init: bool,
    /// Give the device DMA addresses (it uses the DMA API) rather than physical ones.
    pub(crate) use_dma: bool,
    /// The control queue.
    pub(crate) control: Control,
    /// The cursor queue.
    pub(crate) cursor: Cursor,
    /// The fences of fenced control-queue commands.
    pub(crate) fences: Arc<FenceDriver>,
    /// Where buffer objects take their memory from: a mount with huge pages, or `None` (the
    /// kernel has no transparent huge pages) for the kernel's shm mount.
    huge: Option<HugeMount>,
    /// What the host reported about its displays.
    #[pin]
    pub(crate) displays: Displays,
    /// Host resource ids in use.
    #[pin]
    ids: Mutex<IdAllocator<KVec<u64>>>,
    /// 3D context ids in use (one per open file, with VIRGL).
    #[pin]
    ctx_ids: Mutex<IdAllocator<KVec<u64>>>,
    /// The capsets the host offers (read once the device is ready) and the capset data
    /// fetched so far.
    #[pin]
    capsets: Mutex<Capsets>,
    /// The bit mask of the capset ids in `capsets`, set with them: `GETPARAM` reads it
    /// without the lock (the lock and its lockdep checks were most of that ioctl's cost).
    capset_ids: AtomicU64,
    /// Every host resource, by id, with what creates it again after a suspend (the device's
    /// reset destroys them all): its arguments and its backing.
    #[pin]
    live: Mutex<RBTree<u32, Live>>,
    /// How many times the device was restored from a suspend: 3D contexts created in an
    /// earlier generation are gone from the host (see `context.rs`).
    generation: AtomicU32,
}

/// A host resource as [`GpuShared::restore_resources`] creates it again.
pub(crate) struct Live {
    args: ResourceArgs,
    /// The guest memory ranges attached as its backing (empty until attached).
    backing: KVec<MemRange>,
}

/// The host's capsets and a cache of their data, per id and requested version (as the C
/// driver keys it).
#[derive(Default)]
pub(crate) struct Capsets {
    /// What `GET_CAPSET_INFO` said, one entry per capset; empty if it failed.
    infos: KVec<CapsetInfo>,
    /// Capset data fetched for `VIRTGPU_GET_CAPS`: (id, version, data).
    cache: KVec<(u32, u32, KVec<u8>)>,
}

/// What [`GpuShared::new`] needs to know about the device.
pub(crate) struct SharedInit {
    /// Number of scanouts.
    pub(crate) num_scanouts: u32,
    /// Number of capsets.
    pub(crate) num_capsets: u32,
    /// `GET_EDID` supported.
    pub(crate) has_edid: bool,
    /// `VIRGL` negotiated.
    pub(crate) has_virgl: bool,
    /// `CONTEXT_INIT` negotiated.
    pub(crate) has_context_init: bool,
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
        let ctx_bits = KVec::from_elem(0u64, CTX_ID_WORDS, GFP_KERNEL)?;
        let huge = HugeMount::new()
            .inspect_err(|e| pr_info!("buffers on small pages: no huge page mount ({:?})\n", e))
            .ok();
        Ok(try_pin_init!(Self {
            huge,
            displays <- displays,
            ids <- new_mutex!(IdAllocator::new(bits)),
            ctx_ids <- new_mutex!(IdAllocator::new(ctx_bits)),
            capsets <- new_mutex!(Capsets::default()),
            capset_ids: AtomicU64::new(0),
            live <- new_mutex!(RBTree::new()),
            generation: AtomicU32::new(0),
            num_scanouts: i.num_scanouts,
            num_capsets: i.num_capsets,
            has_edid: i.has_edid,
            has_virgl: i.has_virgl,
            has_context_init: i.has_context_init,
            use_dma: i.use_dma,
            control: Control::new(i.control),
            cursor: Cursor::new(i.cursor),
            fences: FenceDriver::new()?,
        }))
    }

    /// The restore generation (see `generation`).
    pub(crate) fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// After a restore: creates every host resource again, with its backing, in the order
    /// of their ids (the device's reset destroyed them; guest memory kept their contents,
    /// which the next upload of each sends again), and starts a new generation, which makes
    /// the 3D contexts of earlier ones lost. Returns how many resources were created.
    pub(crate) fn restore_resources(&self, hw: &Hw<'_>) -> Result<usize> {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let live = self.live.lock();
        let mut n = 0;
        for (&id, one) in live.iter() {
            send_create(self, hw, id, &one.args)?;
            if !one.backing.is_empty() {
                self.control
                    .resource_attach_backing(hw, id, one.backing.iter().map(mem_entry))?;
            }
            n += 1;
        }
        Ok(n)
    }

    /// A 3D context id, or `None` if all are in use.
    pub(crate) fn alloc_ctx_id(&self) -> Option<u32> {
        self.ctx_ids.lock().alloc()
    }

    /// Frees a context id from [`GpuShared::alloc_ctx_id`].
    pub(crate) fn free_ctx_id(&self, id: u32) {
        if !self.ctx_ids.lock().free(id) {
            pr_warn!("context {}: id was not allocated\n", id);
        }
    }

    /// Reads the host's capsets (`GET_CAPSET_INFO` for each), as the C driver does once the
    /// device is ready; if one fails, none is offered.
    pub(crate) fn read_capsets(&self, hw: &Hw<'_>) -> Result {
        if !self.has_virgl || self.num_capsets == 0 {
            return Ok(());
        }
        let mut infos = KVec::with_capacity(self.num_capsets as usize, GFP_KERNEL)?;
        for i in 0..self.num_capsets {
            let info = self.control.get_capset_info(hw, i)?;
            pr_info!(
                "capset {}: id {}, max version {}, size {}\n",
                i,
                info.id,
                info.max_version,
                info.max_size
            );
            infos.push(info, GFP_KERNEL)?;
        }
        let ids = capsets::id_mask(&infos);
        self.capsets.lock().infos = infos;
        self.capset_ids.store(ids, Ordering::Relaxed);
        Ok(())
    }

    /// What userspace is told through `GETPARAM`: the driver's capabilities and the capset
    /// ids the host offers.
    pub(crate) fn params(&self) -> Caps {
        // Blobs, host-visible memory and UUIDs are not implemented.
        Caps {
            virgl: self.has_virgl,
            context_init: self.has_virgl && self.has_context_init,
            capset_mask: self.capset_mask(),
            ..Caps::default()
        }
    }

    /// The bit mask of the capset ids the host offers.
    pub(crate) fn capset_mask(&self) -> u64 {
        self.capset_ids.load(Ordering::Relaxed)
    }

    /// `VIRTGPU_GET_CAPS`: copies up to `size` bytes of capset `id` at `version` with
    /// `copy`, fetching it from the host the first time (`GET_CAPSET`, waited for).
    pub(crate) fn get_caps(
        &self,
        hw: &Hw<'_>,
        id: u32,
        version: u32,
        size: u32,
        copy: impl FnOnce(&[u8]) -> Result,
    ) -> Result {
        let lookup = capsets::lookup(&self.capsets.lock().infos, id, version, size);
        let (info, len) = lookup.map_err(|e| match e {
            capsets::CapsError::NoCapsets => errno::enosys(),
            capsets::CapsError::Invalid => EINVAL,
        })?;
        let cached = |c: &Capsets| c.cache.iter().position(|e| e.0 == id && e.1 == version);
        if cached(&self.capsets.lock()).is_none() {
            // Not under the lock: the host's answer is waited for.
            let data = self.control.get_capset(hw, &info, version)?;
            let mut c = self.capsets.lock();
            if cached(&c).is_none() {
                c.cache.push((id, version, data), GFP_KERNEL)?;
            }
        }
        let c = self.capsets.lock();
        let i = cached(&c).ok_or(EINVAL)?;
        let data = &c.cache[i].2;
        copy(data.get(..len).ok_or(EINVAL)?)
    }
}

/// The host resource behind a GEM object (the object's driver data).
///
/// # Invariants
///
/// `id` is allocated in the device's resource id allocator and the host created resource
/// `id` (`RESOURCE_CREATE_2D` or `_3D`). The host resource lives until the host answered the
/// `RESOURCE_UNREF` that the object's release queues, or a reset drops every host resource:
/// then `host_gone` is set. `drop` frees the id only if it is: an id the host may still
/// hold (with pages that are freed after the drop) is never named again.
pub(crate) struct Resource {
    dev: ARef<GpuDrmDevice>,
    id: u32,
    /// The host no longer has resource `id`.
    host_gone: AtomicBool,
    /// A dumb buffer: the CPU draws into its pages, so a scanout update uploads them
    /// (`TRANSFER_TO_HOST_2D`) first; the host renders other resources itself.
    dumb: bool,
    /// A 2D resource's width in pixels: the host's copy has rows `width * 4` bytes apart,
    /// which a transfer reads from the pages ([`transfer_2d`]). `None` for a 3D resource.
    width_2d: Option<u32>,
}

/// What a new [`Resource`] is created with.
#[derive(Clone, Copy)]
pub(crate) enum ResourceArgs {
    /// A 2D resource (`RESOURCE_CREATE_2D`) of a virtio-gpu `format`, `width` x `height`;
    /// `dumb`: a dumb buffer.
    Simple {
        /// The virtio-gpu format (`protocol::format`).
        format: u32,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// A dumb buffer.
        dumb: bool,
    },
    /// A 3D resource (`RESOURCE_CREATE_3D`, with VIRGL), as userspace describes it.
    Virgl(ResourceCreate3d),
}

impl Resource {
    /// The host resource id.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Whether this is a dumb buffer (uploaded before it is shown).
    pub(crate) fn is_dumb(&self) -> bool {
        self.dumb
    }
}

/// Sends the command that creates host resource `id` of arguments `a`.
fn send_create(shared: &GpuShared, hw: &Hw<'_>, id: u32, a: &ResourceArgs) -> Result {
    match a {
        ResourceArgs::Simple {
            format,
            width,
            height,
            ..
        } => shared
            .control
            .resource_create_2d(hw, id, *format, *width, *height),
        ResourceArgs::Virgl(c) => {
            let mut cmd = *c;
            cmd.hdr = CtrlHdr::new(ResourceCreate3d::TYPE);
            cmd.resource_id = id;
            shared.control.resource_create_3d(hw, &cmd)
        }
    }
}

/// Allocates a resource id, records the resource as live and creates it on the host; undone
/// on failure.
fn create_host_resource(dev: &GpuDrmDevice, a: &ResourceArgs) -> Result<u32> {
    let hw = dev.enter().ok_or(ENODEV)?;
    let shared = dev.data();
    let id = shared.ids.lock().alloc().ok_or(ENOSPC)?;
    let live = Live {
        args: *a,
        backing: KVec::new(),
    };
    // Recorded first, so a restore that runs before the host has it creates it too.
    if let Err(e) = shared
        .live
        .lock()
        .try_create_and_insert(id, live, GFP_KERNEL)
    {
        shared.ids.lock().free(id);
        return Err(e);
    }
    if let Err(e) = send_create(&shared, &hw, id, a) {
        drop(shared.live.lock().remove(&id));
        shared.ids.lock().free(id);
        return Err(e);
    }
    Ok(id)
}

#[vtable]
impl DriverObject for Resource {
    type Driver = GpuDrm;
    type Args = ResourceArgs;

    fn new(dev: &GpuDrmDevice, _size: usize, args: ResourceArgs) -> impl PinInit<Self, Error> {
        // INVARIANT: `create_host_resource` allocated the id and created the resource.
        let (dumb, width_2d) = match args {
            ResourceArgs::Simple { dumb, width, .. } => (dumb, Some(width)),
            ResourceArgs::Virgl(_) => (false, None),
        };
        drm::gem::init_from(create_host_resource(dev, &args).map(|id| Self {
            dev: ARef::from(dev),
            id,
            host_gone: AtomicBool::new(false),
            dumb,
            width_2d,
        }))
    }

    /// With 3D, the file's context may use the object: created if needed, then attached.
    fn open(obj: &GpuObject, file: &drm::File<GpuDrm>) -> Result {
        let f = file.inner();
        if f.ctx_id() == 0 {
            return Ok(());
        }
        let dev = &obj.data().dev;
        let hw = dev.enter().ok_or(ENODEV)?;
        f.ensure_context(&hw)?;
        dev.data()
            .control
            .ctx_attach(&hw, f.ctx_id(), obj.data().id())
    }

    /// The last reference is gone: the host lets go of the resource (`RESOURCE_UNREF`)
    /// before its pages are freed. As in the C driver nobody waits for that: the object
    /// (pages and id) goes with the command and is freed when the answer comes, or when the
    /// device is reset (which drops every host resource). Without the device (unplugged) the
    /// reset at remove already dropped it: the object is freed at once.
    fn release(obj: shmem::Released<Self>) {
        let dev = obj.data().dev.clone();
        let Some(hw) = dev.enter() else {
            obj.data().host_gone.store(true, Ordering::Relaxed);
            return;
        };
        let id = obj.data().id;
        let sent = virtio::Owned::new(Unref(obj))
            .and_then(|then| dev.data().control.resource_unref(&hw, id, then));
        if let Err(e) = sent {
            // The object is freed already (with the command that could not be queued); its
            // id stays allocated, since the host may still hold the resource.
            pr_warn!("resource {}: unref failed: {:?}\n", id, e);
        }
    }

    /// With 3D, the file's context may no longer use the object.
    fn close(obj: &GpuObject, file: &drm::File<GpuDrm>) {
        let f = file.inner();
        if !f.has_context() {
            return;
        }
        let dev = &obj.data().dev;
        if let Some(hw) = dev.enter() {
            if let Err(e) = dev
                .data()
                .control
                .ctx_detach(&hw, f.ctx_id(), obj.data().id())
            {
                pr_warn!("resource {}: detach failed: {:?}\n", obj.data().id(), e);
            }
        }
    }

    fn dumb_create(
        dev: &GpuDrmDevice,
        file: &drm::File<GpuDrm>,
        req: &DumbRequest,
    ) -> Result<DumbBuffer> {
        let layout = dumb::layout(req.width, req.height, req.bpp).map_err(|_| EINVAL)?;
        // XRGB8888 in DRM terms is B, G, R, X in memory on a little-endian guest.
        let obj = create_resource(
            dev,
            layout.size,
            ResourceArgs::Simple {
                format: format::B8G8R8X8_UNORM,
                width: req.width,
                height: req.height,
                dumb: true,
            },
        )?;
        Ok(DumbBuffer {
            handle: obj.create_handle(file)?,
            pitch: layout.pitch,
            size: layout.size,
        })
    }
}

/// A released object kept until the host answered its `RESOURCE_UNREF`: the host may use its
/// pages until then.
struct Unref(shmem::Released<Resource>);

impl virtio::Finish for Unref {
    fn done(&mut self, out: &[u8], resp: &[u8]) {
        commands::check_reply(out, resp);
        self.0.data().host_gone.store(true, Ordering::Relaxed);
    }

    fn failed(&mut self) {
        // The device was reset: it holds no resource any more.
        self.0.data().host_gone.store(true, Ordering::Relaxed);
    }
}

impl Drop for Resource {
    /// The id is free again once the host resource is gone (see the type invariant).
    fn drop(&mut self) {
        let shared = self.dev.data();
        drop(shared.live.lock().remove(&self.id));
        if !*self.host_gone.get_mut() {
            pr_warn!(
                "resource {}: the host may still hold it: id not reused\n",
                self.id
            );
            return;
        }
        if !shared.ids.lock().free(self.id) {
            pr_warn!("resource {}: id was not allocated\n", self.id);
        }
    }
}

/// A `TRANSFER_TO_HOST_2D` of rectangle `r` of `obj`'s resource, first pixel at byte `offset`
/// of the object: `EINVAL` if the host would read past the object's pages (a 2D resource's
/// rows are as wide as the resource, whatever the framebuffer's pitch or the caller's offset
/// say; QEMU 7.2 stops the VM on such a read).
pub(crate) fn transfer_2d(obj: &GpuObject, r: Rect, offset: u64) -> Result<Transfer2d> {
    let d = obj.data();
    let rows = d.width_2d.map(|w| (w, obj.size() as u64));
    Transfer2d::new(d.id, r, offset, rows)
}

/// The wire form of a backing range.
fn mem_entry(r: &MemRange) -> MemEntry {
    MemEntry {
        addr: r.addr,
        length: r.len,
        padding: 0,
    }
}

/// Creates a GEM object of `size` bytes backed by a new host 2D resource (`args`), with the
/// object's pages attached as the resource's backing.
pub(crate) fn create_resource(
    dev: &GpuDrmDevice,
    size: u64,
    args: ResourceArgs,
) -> Result<ARef<GpuObject>> {
    if size == 0 || size > MAX_OBJECT_SIZE {
        return Err(EINVAL);
    }
    // From here on, dropping `obj` destroys the resource and frees its id.
    let obj = GpuObject::new(dev, usize::try_from(size)?, dev.data().huge.as_ref(), args)?;
    let hw = dev.enter().ok_or(ENODEV)?;
    let shared = dev.data();
    let ranges = obj.backing(shared.use_dma)?;
    let id = obj.data().id();
    shared
        .control
        .resource_attach_backing(&hw, id, ranges.iter().map(mem_entry))?;
    // Kept for a restore after a suspend, which attaches the same pages again.
    if let Some(live) = shared.live.lock().get_mut(&id) {
        live.backing = ranges;
    }
    Ok(obj)
}

impl drm::Driver for GpuDrm {
    type Data = GpuShared;
    type File = GpuFile;
    type Object = GpuObject;

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
    // SYNCOBJ and SYNCOBJ_TIMELINE: EXECBUFFER takes in- and out-syncobjs, as the C driver's.
    const FEATURES: u32 = drv::FEAT_GEM
        | drv::FEAT_RENDER
        | drv::FEAT_MODESET
        | drv::FEAT_ATOMIC
        | drv::FEAT_SYNCOBJ
        | drv::FEAT_SYNCOBJ_TIMELINE
        | drv::FEAT_CURSOR_HOTSPOT;

    const IOCTLS: &'static [drm::ioctl::Desc] = drm_ioctls!(GpuDrm;
        (VIRTGPU_MAP, ioctl::Map, RENDER_ALLOW),
        (VIRTGPU_EXECBUFFER, ioctl::ExecBuffer, RENDER_ALLOW),
        (VIRTGPU_GETPARAM, ioctl::GetParam, RENDER_ALLOW),
        (VIRTGPU_RESOURCE_CREATE, ioctl::ResourceCreate, RENDER_ALLOW),
        (VIRTGPU_RESOURCE_INFO, ioctl::ResourceInfo, RENDER_ALLOW),
        (VIRTGPU_TRANSFER_FROM_HOST, ioctl::TransferFromHost, RENDER_ALLOW),
        (VIRTGPU_TRANSFER_TO_HOST, ioctl::TransferToHost, RENDER_ALLOW),
        (VIRTGPU_WAIT, ioctl::Wait, RENDER_ALLOW),
        (VIRTGPU_GET_CAPS, ioctl::GetCaps, RENDER_ALLOW),
        (VIRTGPU_RESOURCE_CREATE_BLOB, ioctl::ResourceCreateBlob, RENDER_ALLOW),
        (VIRTGPU_CONTEXT_INIT, ioctl::ContextInit, RENDER_ALLOW),
    );

    fn open(dev: &GpuDrmDevice) -> Result<Pin<KBox<GpuFile>>> {
        KBox::pin_init(GpuFile::new(dev)?, GFP_KERNEL)
    }
}
