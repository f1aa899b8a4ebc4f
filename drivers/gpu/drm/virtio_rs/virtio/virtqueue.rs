// SPDX-License-Identifier: GPL-2.0

//! Virtqueues: finding them, submitting buffers, completing requests.
//!
//! Buffers change owner when they are queued: [`Queue::submit`] moves them into the queue
//! (the device may DMA into them) and the completion gives them back once the device
//! returned them, so the CPU never touches memory the device owns. Completions run in a work
//! item, not in the interrupt handler, so every lock here is a sleeping mutex.
//!
//! C header: [`include/linux/virtio.h`](srctree/include/linux/virtio.h)

use core::ptr::NonNull;

use kernel::{
    error::to_result,
    new_condvar, new_mutex, new_work,
    prelude::*,
    sync::{Arc, CondVar, Mutex},
    workqueue::{self, Work, WorkItem},
};

use super::Device;
use crate::glue::bindings;

/// Buffers of one request: `out` is read by the device, `input` written by it.
///
/// Both are `KVec`s, so they live in `kmalloc` memory: physically contiguous and in the
/// kernel's linear map, as a scatterlist entry made with `sg_init_one` requires. An empty
/// buffer is not queued.
pub(crate) struct Buffers {
    /// Device-readable bytes (a command).
    pub(crate) out: KVec<u8>,
    /// Device-writable bytes (room for the response); may be empty.
    pub(crate) input: KVec<u8>,
}

/// What a completed request gives back: the buffers and the number of bytes the device wrote
/// to `input`.
pub(crate) type Done = (Buffers, usize);

/// Wakes the submitter of a request when the device returns it.
#[pin_data]
pub(crate) struct Completion {
    #[pin]
    result: Mutex<Option<Result<Done>>>,
    #[pin]
    cond: CondVar,
}

impl Completion {
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                result <- new_mutex!(None),
                cond <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    fn complete(&self, r: Result<Done>) {
        *self.result.lock() = Some(r);
        self.cond.notify_all();
    }

    /// Waits until the device returned the request (or the queue was torn down: `ENODEV`).
    pub(crate) fn wait(&self) -> Result<Done> {
        let mut guard = self.result.lock();
        loop {
            if let Some(r) = guard.take() {
                return r;
            }
            self.cond.wait(&mut guard);
        }
    }
}

/// Checks the device's answer to a request nobody waits for: gets the device-readable bytes
/// (the command) and the bytes the device wrote. Runs in the completion work item.
pub(crate) type Check = fn(out: &[u8], resp: &[u8]);

/// A request while the device owns it: its buffers and who to tell when it comes back (a
/// waiter, or a check of the answer, or nobody).
struct InFlight {
    bufs: Buffers,
    done: Option<Arc<Completion>>,
    check: Option<Check>,
    /// Goes back to the queue's pool when done (buffers of [`POOL_BUF`] bytes' capacity).
    pooled: bool,
}

/// Capacity of the buffers of a recycled request: the largest small command or answer.
const POOL_BUF: usize = 64;

/// How many finished requests a queue keeps for reuse.
const POOL_MAX: usize = 32;

/// Sets `v` to `n` zero bytes, within its capacity.
fn refill(v: &mut KVec<u8>, n: usize) -> Result {
    if n > v.capacity() {
        return Err(EINVAL);
    }
    // SAFETY: 0 is not more than the capacity, and `u8` needs no drop: shortening to 0
    // leaves no element behind that would have to be dropped or stay initialised.
    unsafe { v.set_len(0) };
    // Within the capacity (checked above): no allocation.
    v.extend_with(n, 0, GFP_KERNEL)?;
    Ok(())
}

/// Requests queued on a [`Queue`] without a waiter; dropping the batch notifies the device.
pub(crate) struct Batch<'a> {
    queue: &'a Queue,
}

impl Batch<'_> {
    /// Queues a command of `out_len` bytes, written by `encode` into a zeroed buffer, with room
    /// for an answer of `resp_len` bytes: when the device returns them, `check` gets the
    /// command and the answer (to report a failure nobody is there to receive). The device
    /// handles a queue's requests in order, so a later request that is waited for also means
    /// this one was done. Waits for room if the ring is full.
    ///
    /// Small requests are recycled, as the C driver takes its buffers from a `kmem_cache`: in
    /// steady state a batch allocates nothing.
    pub(crate) fn submit_checked(
        &self,
        out_len: usize,
        resp_len: usize,
        encode: impl FnOnce(&mut [u8]),
        check: Check,
    ) -> Result {
        let mut req = self.queue.recycled(out_len, resp_len)?;
        encode(&mut req.bufs.out);
        req.check = Some(check);
        self.queue.queue_req(req, false)
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        self.queue.notify();
    }
}

/// The `struct virtqueue` of a [`Queue`], while the queue is alive.
///
/// # Invariants
///
/// `0` points to a virtqueue found by [`Queues::new`] and not yet deleted; it is only used
/// under the owning [`Queue`]'s `state` mutex, which serialises calls as the virtqueue API
/// requires. Every token queued on it is a `KBox<InFlight>` turned into a raw pointer.
struct RawVq(NonNull<bindings::virtqueue>);

// SAFETY: A virtqueue may be used from any thread as long as calls are serialised, which the
// mutex around `RawVq` ensures (type invariant).
unsafe impl Send for RawVq {}

/// One virtqueue of a device, shared by everyone who submits to it.
///
/// After the device is removed the queue is *dead*: submissions fail with `ENODEV` and
/// requests still in flight were completed with `ENODEV`.
#[pin_data]
pub(crate) struct Queue {
    /// The virtqueue, `None` once dead.
    #[pin]
    state: Mutex<Option<RawVq>>,
    /// Signalled when the device returned buffers (room in the ring) or the queue died.
    #[pin]
    space: CondVar,
    /// Runs [`Queue::dequeue`] after a used-buffer interrupt.
    #[pin]
    work: Work<Queue>,
    /// Finished small requests kept for reuse (see [`Batch::submit_checked`]).
    #[pin]
    pool: Mutex<[Option<KBox<InFlight>>; POOL_MAX]>,
}

kernel::impl_has_work! {
    impl HasWork<Self> for Queue { self.work }
}

impl WorkItem for Queue {
    type Pointer = Arc<Queue>;

    fn run(this: Arc<Queue>) {
        this.dequeue();
    }
}

impl Queue {
    /// Queues `bufs` and returns a [`Completion`] to wait on (or `None` if `wait` is false:
    /// the buffers are then freed when the device returns them). Waits for room if the ring
    /// is full.
    pub(crate) fn submit(&self, bufs: Buffers, wait: bool) -> Result<Option<Arc<Completion>>> {
        let done = if wait { Some(Completion::new()?) } else { None };
        self.queue(bufs, done.clone(), None, true)?;
        Ok(done)
    }

    /// Starts a batch of requests nobody waits for; the device is notified once, when the
    /// batch is dropped (one notification per batch instead of one per request).
    pub(crate) fn batch(&self) -> Batch<'_> {
        Batch { queue: self }
    }

    /// Notifies the device of the requests added since the last notification.
    fn notify(&self) {
        let guard = self.state.lock();
        if let Some(vq) = guard.as_ref() {
            // SAFETY: By the type invariant of `RawVq` the virtqueue is alive, and the
            // `state` lock we hold serialises this call.
            unsafe { bindings::virtqueue_kick(vq.0.as_ptr()) };
        }
    }

    /// Adds a request to the ring, waiting for room, and notifies the device if `kick`.
    fn queue(
        &self,
        bufs: Buffers,
        done: Option<Arc<Completion>>,
        check: Option<Check>,
        kick: bool,
    ) -> Result {
        let req = KBox::new(
            InFlight {
                bufs,
                done,
                check,
                pooled: false,
            },
            GFP_KERNEL,
        )?;
        self.queue_req(req, kick)
    }

    /// A request with zeroed buffers of `out_len` and `resp_len` bytes: a recycled one if
    /// both fit [`POOL_BUF`] and the pool has one, else a new one (kept for reuse if it fits).
    fn recycled(&self, out_len: usize, resp_len: usize) -> Result<KBox<InFlight>> {
        let fits = out_len <= POOL_BUF && resp_len <= POOL_BUF;
        let old = if fits {
            self.pool.lock().iter_mut().find_map(Option::take)
        } else {
            None
        };
        let Some(mut req) = old else {
            let cap = if fits { POOL_BUF } else { 0 };
            let mut out = KVec::with_capacity(out_len.max(cap), GFP_KERNEL)?;
            out.extend_with(out_len, 0, GFP_KERNEL)?;
            let mut input = KVec::with_capacity(resp_len.max(cap), GFP_KERNEL)?;
            input.extend_with(resp_len, 0, GFP_KERNEL)?;
            let req = InFlight {
                bufs: Buffers { out, input },
                done: None,
                check: None,
                pooled: fits,
            };
            return Ok(KBox::new(req, GFP_KERNEL)?);
        };
        // Both buffers have `POOL_BUF` bytes of capacity: refilling them allocates nothing.
        refill(&mut req.bufs.out, out_len)?;
        refill(&mut req.bufs.input, resp_len)?;
        Ok(req)
    }

    /// Keeps a finished pooled request for [`Queue::recycled`] if the pool has room.
    fn recycle(&self, mut req: KBox<InFlight>) {
        req.check = None;
        let mut pool = self.pool.lock();
        if let Some(slot) = pool.iter_mut().find(|s| s.is_none()) {
            *slot = Some(req);
        }
    }

    /// Adds a request to the ring, waiting for room, and notifies the device if `kick`.
    fn queue_req(&self, mut req: KBox<InFlight>, kick: bool) -> Result {
        let mut guard = self.state.lock();
        loop {
            let Some(vq) = guard.as_ref() else {
                return Err(ENODEV);
            };
            match Self::add(vq, req) {
                Ok(()) => {
                    if kick {
                        // SAFETY: By the type invariant of `RawVq` the virtqueue is alive,
                        // and the `state` lock we hold serialises this call.
                        unsafe { bindings::virtqueue_kick(vq.0.as_ptr()) };
                    }
                    return Ok(());
                }
                Err((e, back)) if e == ENOSPC => {
                    req = back;
                    // The ring may be full of requests of a batch the device has not been
                    // told about yet: tell it, or the room never comes.
                    // SAFETY: As above.
                    unsafe { bindings::virtqueue_kick(vq.0.as_ptr()) };
                    self.space.wait(&mut guard);
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Submits `out` and a response buffer of `resp_len` bytes, and waits for the device.
    /// Returns the buffers and the number of response bytes the device wrote.
    pub(crate) fn call(&self, out: KVec<u8>, resp_len: usize) -> Result<Done> {
        let input = KVec::from_elem(0u8, resp_len, GFP_KERNEL)?;
        let c = self.submit(Buffers { out, input }, true)?.ok_or(EINVAL)?;
        c.wait()
    }

    /// Adds one request to the ring. On failure the request is handed back.
    fn add(vq: &RawVq, req: KBox<InFlight>) -> Result<(), (Error, KBox<InFlight>)> {
        let out_len = u32::try_from(req.bufs.out.len());
        let in_len = u32::try_from(req.bufs.input.len());
        let (Ok(out_len), Ok(in_len)) = (out_len, in_len) else {
            return Err((EINVAL, req));
        };
        if out_len == 0 {
            return Err((EINVAL, req));
        }
        let mut sg_out = bindings::scatterlist::default();
        let mut sg_in = bindings::scatterlist::default();
        // SAFETY: `sg_out` is a scatterlist entry we own; `out` is a live `kmalloc` buffer
        // (a `KVec`) of `out_len` bytes, as `sg_init_one` requires.
        unsafe { bindings::sg_init_one(&mut sg_out, req.bufs.out.as_ptr().cast(), out_len) };
        let mut sgs: [*mut bindings::scatterlist; 2] = [&mut sg_out, &mut sg_in];
        let in_sgs = if in_len > 0 {
            // SAFETY: As above, for the device-writable `input` buffer.
            unsafe { bindings::sg_init_one(&mut sg_in, req.bufs.input.as_ptr().cast(), in_len) };
            1
        } else {
            0
        };
        let token = KBox::into_raw(req);
        // SAFETY:
        // - By the type invariant of `RawVq` the virtqueue is alive and we are serialised.
        // - `sgs` holds one out and `in_sgs` in scatterlists that describe the buffers of the
        //   request behind `token`, which stays allocated until the device returns it.
        // - `token` is a non-null `KBox<InFlight>` pointer, as the invariant requires.
        let ret = unsafe {
            bindings::virtqueue_add_sgs(
                vq.0.as_ptr(),
                sgs.as_mut_ptr(),
                1,
                in_sgs,
                token.cast(),
                bindings::GFP_KERNEL,
            )
        };
        if ret < 0 {
            // SAFETY: The add failed, so the virtqueue did not keep `token`, which came from
            // `KBox::into_raw` just above.
            let req = unsafe { KBox::from_raw(token) };
            return Err((Error::from_errno(ret), req));
        }
        Ok(())
    }

    /// Takes every used buffer off the ring and completes its request.
    ///
    /// Requests are completed with the `state` lock held, which needs no list (no allocation)
    /// and keeps their order. Lock order: `state`, then a completion's or the pool's lock;
    /// neither of those is held while taking `state`.
    fn dequeue(&self) {
        {
            let guard = self.state.lock();
            let Some(vq) = guard.as_ref() else {
                return;
            };
            loop {
                let mut len: u32 = 0;
                // SAFETY: By the type invariant of `RawVq` the virtqueue is alive and the lock
                // serialises us; `len` is a valid place for the used length.
                let token = unsafe { bindings::virtqueue_get_buf(vq.0.as_ptr(), &mut len) };
                if token.is_null() {
                    break;
                }
                // SAFETY: Every token on this queue is a `KBox<InFlight>` pointer (type
                // invariant of `RawVq`) and the device returned this one, so we own it again.
                let req = unsafe { KBox::from_raw(token.cast::<InFlight>()) };
                self.finish(req, len as usize);
            }
        }
        self.space.notify_all();
    }

    /// Hands a request the device returned, with `len` bytes of answer, to whoever wants it.
    fn finish(&self, req: KBox<InFlight>, len: usize) {
        // The device cannot have written more than it was given.
        let len = len.min(req.bufs.input.len());
        if let Some(check) = req.check {
            check(&req.bufs.out, req.bufs.input.get(..len).unwrap_or(&[]));
        }
        if req.pooled {
            self.recycle(req);
            return;
        }
        let InFlight { bufs, done, .. } = KBox::into_inner(req);
        if let Some(c) = done {
            c.complete(Ok((bufs, len)));
        }
    }

    /// Makes the queue dead: takes back every request the device still holds (the device
    /// must be reset already) and completes them with `ENODEV`.
    fn kill(&self) {
        let vq = self.state.lock().take();
        if let Some(vq) = vq {
            loop {
                // SAFETY: The virtqueue is alive (type invariant of `RawVq`), the device is
                // reset (the caller's requirement), and we took it out of `state`, so nobody
                // else uses it.
                let token = unsafe { bindings::virtqueue_detach_unused_buf(vq.0.as_ptr()) };
                if token.is_null() {
                    break;
                }
                // SAFETY: Every token on this queue is a `KBox<InFlight>` pointer, and
                // detaching it gave it back to us.
                let req = unsafe { KBox::from_raw(token.cast::<InFlight>()) };
                if let Some(c) = &req.done {
                    c.complete(Err(ENODEV));
                }
            }
        }
        self.space.notify_all();
    }

    /// `vq->callback`: runs in interrupt context, so it only schedules [`Queue::dequeue`].
    ///
    /// # Safety
    ///
    /// `vq` is a virtqueue set up by [`Queues::new`]: its device's `priv` points to the
    /// queue table of the [`Queues`] that owns it until the queues are deleted (after which
    /// no callback runs).
    unsafe extern "C" fn callback(vq: *mut bindings::virtqueue) {
        // SAFETY: By the function's safety requirements `vq` is valid, and so is its device.
        let (vdev, index) = unsafe { ((*vq).vdev, (*vq).index) };
        // SAFETY: `vdev` is valid (above).
        let table = unsafe { (*vdev).priv_ }
            .cast::<KVec<Arc<Queue>>>()
            .cast_const();
        if table.is_null() {
            return;
        }
        // SAFETY: By the function's safety requirements a non-null `priv` points to the live,
        // never mutated queue table of the device's `Queues`.
        let table = unsafe { &*table };
        if let Some(queue) = table.get(index as usize) {
            // Already queued work will see our buffers too; the extra reference is dropped.
            let _ = workqueue::system().enqueue(queue.clone());
        }
    }
}

/// The virtqueues of a bound device. Dropping it resets the device, completes whatever the
/// device still held with `ENODEV`, and deletes the virtqueues.
///
/// # Invariants
///
/// - `vdev` is the bound device whose virtqueues the `table` queues are; the virtio driver
///   abstraction drops this owner in `remove`, while the device is still bound.
/// - `vdev->priv` points to `*table` (a heap allocation that does not move) from
///   [`Queues::new`] until [`Queues::drop`] resets the device; the table is not mutated.
pub(crate) struct Queues {
    vdev: NonNull<bindings::virtio_device>,
    table: KBox<KVec<Arc<Queue>>>,
}

// SAFETY: `Queues` only uses `vdev` in `drop`, for calls that may be made from any thread.
unsafe impl Send for Queues {}

// SAFETY: `&Queues` only gives out the `Arc<Queue>`s, which are `Sync`.
unsafe impl Sync for Queues {}

/// Most virtqueues a device of ours has.
const MAX_QUEUES: usize = 4;

impl Queues {
    /// Finds the device's virtqueues, named `names` in order.
    ///
    /// # Safety
    ///
    /// The caller must drop the result before the driver's `remove` returns.
    pub(super) unsafe fn new(dev: &Device, names: &[&'static CStr]) -> Result<Self> {
        let n = names.len();
        if n == 0 || n > MAX_QUEUES {
            return Err(EINVAL);
        }
        let mut infos = <[bindings::virtqueue_info; MAX_QUEUES]>::default();
        for (info, name) in infos.iter_mut().zip(names) {
            info.name = name.as_char_ptr();
            info.callback = Some(Queue::callback);
        }
        let mut vqs = [core::ptr::null_mut::<bindings::virtqueue>(); MAX_QUEUES];
        let mut queues = KBox::new(KVec::with_capacity(n, GFP_KERNEL)?, GFP_KERNEL)?;
        for _ in 0..n {
            let q = Arc::pin_init(
                pin_init!(Queue {
                    state <- new_mutex!(None),
                    space <- new_condvar!(),
                    work <- new_work!("virtio_gpu_rs::Queue::work"),
                    pool <- new_mutex!([const { None }; POOL_MAX]),
                }),
                GFP_KERNEL,
            )?;
            queues.push(q, GFP_KERNEL)?;
        }
        // SAFETY: `dev` is valid; `priv` belongs to the driver, and no callback can read it
        // before buffers are queued, which needs the queues we are creating.
        unsafe { (*dev.as_raw()).priv_ = (&raw const *queues).cast_mut().cast() };
        // SAFETY: `dev` is a valid bound device; `vqs` and `infos` have room for `n` entries
        // and `infos[..n]` is initialised with `'static` names and our callback.
        let ret = unsafe {
            bindings::vgrs_virtio_find_vqs(
                dev.as_raw(),
                n as u32,
                vqs.as_mut_ptr(),
                infos.as_mut_ptr(),
            )
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: `dev` is valid; no virtqueue exists that could use `priv`.
            unsafe { (*dev.as_raw()).priv_ = core::ptr::null_mut() };
            return Err(e);
        }
        for (q, vq) in queues.iter().zip(vqs) {
            if let Some(vq) = NonNull::new(vq) {
                // INVARIANT: `vq` is alive until `Queues::drop` deletes it after `kill`.
                *q.state.lock() = Some(RawVq(vq));
            }
        }
        // INVARIANT: `priv` points to the table set up above; the caller drops us in `remove`.
        Ok(Self {
            vdev: NonNull::from(dev).cast(),
            table: queues,
        })
    }

    /// Returns queue `i` (in the order of the names given to [`Queues::new`]).
    pub(crate) fn get(&self, i: usize) -> Option<&Arc<Queue>> {
        self.table.get(i)
    }
}

impl Drop for Queues {
    fn drop(&mut self) {
        let vdev = self.vdev.as_ptr();
        // SAFETY: By the type invariant `vdev` is still bound. Resetting stops the device from
        // using any buffer and waits for running virtqueue callbacks.
        unsafe { bindings::virtio_reset_device(vdev) };
        // SAFETY: `vdev` is valid; after the reset no callback reads `priv` any more.
        unsafe { (*vdev).priv_ = core::ptr::null_mut() };
        for q in self.table.iter() {
            q.kill();
        }
        // SAFETY: `vdev` is bound (type invariant) and reset; its virtqueues are unused now.
        unsafe { bindings::vgrs_virtio_del_vqs(vdev) };
    }
}
