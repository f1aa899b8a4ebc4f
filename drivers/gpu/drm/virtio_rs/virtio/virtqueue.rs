// SPDX-License-Identifier: GPL-2.0

//! Virtqueues: finding them, submitting buffers, completing requests.
//!
//! Buffers change owner when they are queued: [`Queue::submit`] moves them into the queue
//! (the device may DMA into them) and the completion gives them back once the device
//! returned them, so the CPU never touches memory the device owns. Completions run in a work
//! item, not in the interrupt handler.
//!
//! The ring itself is behind a spinlock that can be *tried* ([`TryLock`]): drm_panic submits
//! through [`Queue::atomic`] on a CPU that must not sleep, allocate or wait for a lock another
//! (stopped) CPU may hold. Everything else that may wait (for room in the ring, for an
//! answer) waits on sleeping locks outside it.
//!
//! C header: [`include/linux/virtio.h`](srctree/include/linux/virtio.h)

use core::ptr::NonNull;
use core::sync::atomic::{
    AtomicPtr, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};

use kernel::{
    error::to_result,
    new_condvar, new_mutex, new_work,
    prelude::*,
    sync::{Arc, CondVar, Mutex},
    time::{msecs_to_jiffies, Ktime},
    types::Opaque,
    workqueue::{self, Work, WorkItem},
};

use super::{
    spin::{TryGuard, TryLock},
    Device,
};
use crate::glue::{bindings, errno};

/// Buffers of one request: `out` is read by the device, `input` written by it.
///
/// Both are `KVec`s, so they live in `kmalloc` memory: physically contiguous and in the
/// kernel's linear map, as a scatterlist entry made with `sg_init_one` requires. An empty
/// buffer is not queued.
pub(crate) struct Buffers {
    /// Device-readable bytes (a command).
    out: KVec<u8>,
    /// Device-writable bytes (room for the response); may be empty.
    input: KVec<u8>,
}

/// The device's answer to a request someone waited for: derefs to the bytes the device wrote.
pub(crate) struct Reply {
    bufs: Buffers,
    len: usize,
}

impl core::ops::Deref for Reply {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bufs.input.get(..self.len).unwrap_or(&[])
    }
}

/// A `struct completion` done once (`complete_all`), waited for without signals, with or
/// without a timeout: the uninterruptible timed wait the 6.12 `CondVar` lacks.
///
/// # Invariants
///
/// `0` was initialised by `init_completion` and is pinned.
#[pin_data]
struct Done {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: A completion may be completed and waited for from any thread; the wait queue in it
// has its own lock.
unsafe impl Send for Done {}

// SAFETY: As for `Send`: every operation through `&Done` is thread-safe.
unsafe impl Sync for Done {}

impl Done {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- Opaque::ffi_init(|slot: *mut bindings::completion| {
                // SAFETY: `slot` is the pinned, uninitialised completion, not yet in use.
                unsafe { bindings::vgrs_init_completion(slot) }
            }),
        })
    }

    /// Marks it done and wakes every waiter (and every later one).
    fn complete(&self) {
        // SAFETY: By the type invariant the completion is initialised and pinned.
        unsafe { bindings::complete_all(self.inner.get()) };
    }

    /// Waits until it is done, for at most `ms` milliseconds (0: without a limit), ignoring
    /// signals. Returns whether it is done.
    fn wait(&self, ms: u32) -> bool {
        if ms == 0 {
            // SAFETY: By the type invariant the completion is initialised and pinned; a
            // process may sleep here (waiters run in process context).
            unsafe { bindings::wait_for_completion(self.inner.get()) };
            return true;
        }
        // SAFETY: As above.
        unsafe { bindings::wait_for_completion_timeout(self.inner.get(), msecs_to_jiffies(ms)) > 0 }
    }
}

/// Where the answer to a waited-for request is left, and its waiter woken.
#[pin_data]
pub(crate) struct Slot {
    #[pin]
    result: Mutex<Option<Result<Reply>>>,
    #[pin]
    done: Done,
}

impl Slot {
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                result <- new_mutex!(None),
                done <- Done::new(),
            }),
            GFP_KERNEL,
        )
    }

    fn complete(&self, r: Result<Reply>) {
        *self.result.lock() = Some(r);
        self.done.complete();
    }
}

/// A request that was submitted with [`Wait`]: [`Pending::wait`] gives its answer.
pub(crate) struct Pending {
    slot: Arc<Slot>,
    wedge: Arc<Wedge>,
}

/// The `cmd_timeout_ms` module parameter: how long a waited-for command may go unanswered
/// (0: forever).
fn cmd_timeout_ms() -> u32 {
    // SAFETY: Reads a module parameter; no requirements.
    unsafe { bindings::vgrs_cmd_timeout_ms() }
}

impl Pending {
    /// Waits until the device returned the request (or the queue was torn down: `ENODEV`).
    ///
    /// A device that does not answer within `cmd_timeout_ms` is reset ([`Wedge::wedge`]):
    /// every request in flight fails, this one with `ETIMEDOUT`, so no task waits forever for
    /// a device that stopped answering.
    pub(crate) fn wait(self) -> Result<Reply> {
        let mut timed_out = false;
        loop {
            if let Some(r) = self.slot.result.lock().take() {
                return match r {
                    Err(_) if timed_out => Err(errno::etimedout()),
                    r => r,
                };
            }
            // After a reset the request is completed by the reset, or by the removal that
            // raced with it: wait without a limit then.
            let ms = if timed_out { 0 } else { cmd_timeout_ms() };
            if !self.slot.done.wait(ms) {
                timed_out = true;
                self.wedge.wedge(ms);
            }
        }
    }
}

/// Checks the device's answer to a request nobody waits for: gets the device-readable bytes
/// (the command) and the bytes the device wrote. Runs in the completion work item.
pub(crate) type CheckFn = fn(out: &[u8], resp: &[u8]);

/// What happens when the device returns a request: the internal form of a [`Completion`],
/// which only the queue reads.
pub(crate) enum Notify {
    /// Wake the waiter with the answer.
    Waiter(Arc<Slot>),
    /// Check the answer; nobody waits.
    Check(CheckFn),
    /// Nothing: nobody waits and there is no answer to check.
    Nothing,
    /// A reserved request of [`AtomicBatch`]: goes back to the ring's reserve.
    Reserved,
    /// Hand the command and the answer to a shared handler.
    Handler(Arc<dyn Handler>),
    /// Hand the command and the answer to a value that lives until then (and is dropped
    /// right after).
    Owned(KBox<dyn Finish>),
}

/// Hears of the completion of many requests (e.g. a fence driver, which signals the fences
/// the answers name): gets each request's command and the bytes the device wrote. Runs in
/// the completion work item; must not wait for an answer of the same queue.
pub(crate) trait Handler: Send + Sync {
    /// The device returned a request: `out` is its command, `resp` its answer.
    fn done(&self, out: &[u8], resp: &[u8]);

    /// The device will never return a request (it was reset or removed with the request in
    /// flight).
    fn failed(&self) {}
}

/// Keeps what must live until the device returned one request: e.g. an object whose pages
/// the device may read until it answered the command that lets go of them. Gets the command
/// and the answer, or hears that no answer will come; dropped right after either, in the
/// completion work item (or, if the request could not be queued or the queue died, where
/// that was found), never under the ring lock, so its `Drop` may sleep. Like a [`Handler`],
/// it must not wait for an answer of the same queue.
pub(crate) trait Finish: Send {
    /// The device returned the request: `out` is its command, `resp` its answer.
    fn done(&mut self, out: &[u8], resp: &[u8]);

    /// The device will never return the request (it was reset or removed with the request
    /// in flight).
    fn failed(&mut self) {}
}

mod sealed {
    pub(crate) trait Sealed {}
}

/// How the submitter of a request hears of its completion; the type decides what
/// [`Queue::submit`] returns. Implemented by [`Wait`], [`Check`] and [`Forget`] (sealed: the
/// queue relies on each of them).
pub(crate) trait Completion: sealed::Sealed {
    /// What `submit` returns for the request.
    type Handle;
    #[doc(hidden)]
    fn prepare(self, wedge: &Arc<Wedge>) -> Result<(Notify, Self::Handle)>;
    #[doc(hidden)]
    const POOLED: bool;
}

/// The submitter waits for the answer: `submit` returns a [`Pending`].
pub(crate) struct Wait;

/// Nobody waits: the function gets the command and the answer when the device returns them
/// (to log a failure nobody is there to receive); `submit` returns `()`.
pub(crate) struct Check(pub(crate) CheckFn);

/// Nobody waits and nothing is checked (commands the device answers with nothing).
pub(crate) struct Forget;

/// Nobody waits; the shared handler gets the command and the answer; `submit` returns `()`.
pub(crate) struct Handled(pub(crate) Arc<dyn Handler>);

/// Nobody waits; the value gets the command and the answer, then is dropped; `submit` returns
/// `()`. If the request is not queued (`submit` fails), the value is dropped at once.
pub(crate) struct Owned(KBox<dyn Finish>);

impl Owned {
    /// Puts `value` on the heap (6.12's `KBox` does not coerce to a trait object by itself).
    pub(crate) fn new<T: Finish + 'static>(value: T) -> Result<Self> {
        let raw: *mut T = KBox::into_raw(KBox::new(value, GFP_KERNEL)?);
        let raw: *mut dyn Finish = raw;
        // SAFETY: `raw` came from `KBox::into_raw` just above; it only became a pointer to a
        // trait object (same address; the vtable gives the value's layout and `Drop`), so it
        // is still the `KBox` allocation of one value, handed back to a `KBox` once.
        Ok(Self(unsafe { KBox::from_raw(raw) }))
    }
}

impl sealed::Sealed for Wait {}
impl sealed::Sealed for Check {}
impl sealed::Sealed for Forget {}
impl sealed::Sealed for Handled {}
impl sealed::Sealed for Owned {}

impl Completion for Wait {
    type Handle = Pending;
    // The buffers go to the waiter with the answer.
    const POOLED: bool = false;
    fn prepare(self, wedge: &Arc<Wedge>) -> Result<(Notify, Pending)> {
        let slot = Slot::new()?;
        let wedge = wedge.clone();
        Ok((Notify::Waiter(slot.clone()), Pending { slot, wedge }))
    }
}

impl Completion for Check {
    type Handle = ();
    const POOLED: bool = true;
    fn prepare(self, _: &Arc<Wedge>) -> Result<(Notify, ())> {
        Ok((Notify::Check(self.0), ()))
    }
}

impl Completion for Handled {
    type Handle = ();
    const POOLED: bool = true;
    fn prepare(self, _: &Arc<Wedge>) -> Result<(Notify, ())> {
        Ok((Notify::Handler(self.0), ()))
    }
}

impl Completion for Owned {
    type Handle = ();
    const POOLED: bool = true;
    fn prepare(self, _: &Arc<Wedge>) -> Result<(Notify, ())> {
        Ok((Notify::Owned(self.0), ()))
    }
}

impl Completion for Forget {
    type Handle = ();
    const POOLED: bool = true;
    fn prepare(self, _: &Arc<Wedge>) -> Result<(Notify, ())> {
        Ok((Notify::Nothing, ()))
    }
}

/// A request while the device owns it: its buffers and who to tell when it comes back.
struct InFlight {
    bufs: Buffers,
    notify: Notify,
    /// Goes back to the queue's pool when done (buffers of [`POOL_BUF`] bytes' capacity).
    pooled: bool,
}

/// Capacity of the buffers of a recycled request: the largest small command or answer.
const POOL_BUF: usize = 64;

/// How many finished requests a queue keeps for reuse.
const POOL_MAX: usize = 32;

/// How many returned requests [`Queue::dequeue`] takes off the ring per ring lock section.
const DEQUEUE_BATCH: usize = 8;

/// Finished small requests kept for reuse ([`Queue::recycled`]), without a lock: every
/// request submitted and every answer handled passes through here, and a lock (with its
/// lockdep checks on a debug kernel) cost more than the allocations the pool saves.
///
/// # Invariants
///
/// Every non-null slot holds a pointer from `KBox::into_raw` that the slot alone owns.
struct Pool([AtomicPtr<InFlight>; POOL_MAX]);

// The pool hands requests from one thread to another: they must be `Send` (`AtomicPtr` is
// `Sync` whatever it points to, so this is checked here).
const _: fn() = || {
    fn send<T: Send>() {}
    send::<KBox<InFlight>>();
};

impl Pool {
    const fn new() -> Self {
        // INVARIANT: every slot is null.
        Self([const { AtomicPtr::new(core::ptr::null_mut()) }; POOL_MAX])
    }

    /// Takes a kept request, if there is one.
    fn take(&self) -> Option<KBox<InFlight>> {
        for slot in &self.0 {
            if slot.load(Relaxed).is_null() {
                continue;
            }
            let p = slot.swap(core::ptr::null_mut(), Acquire);
            if !p.is_null() {
                // SAFETY: By the type invariant `p` came from `KBox::into_raw` and belonged
                // to the slot; the swap took it out (and `Acquire` pairs with the `Release`
                // that put it there), so it is ours alone.
                return Some(unsafe { KBox::from_raw(p) });
            }
        }
        None
    }

    /// Keeps `req` if a slot is free; frees it otherwise.
    fn put(&self, req: KBox<InFlight>) {
        let p = KBox::into_raw(req);
        for slot in &self.0 {
            if slot.load(Relaxed).is_null()
                && slot
                    .compare_exchange(core::ptr::null_mut(), p, Release, Relaxed)
                    .is_ok()
            {
                // INVARIANT: the slot owns `p`, from `KBox::into_raw`.
                return;
            }
        }
        // SAFETY: `p` came from `KBox::into_raw` above, and no slot took it.
        drop(unsafe { KBox::from_raw(p) });
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        while self.take().is_some() {}
    }
}

/// Capacity of the command buffer of a reserved request ([`AtomicBatch`]).
const RESERVED_BUF: usize = 64;

/// How many reserved requests a queue has: an [`AtomicBatch`] queues at most this many.
const RESERVED: usize = 2;

/// How many requests of others an [`AtomicBatch`] may take off the ring while it polls.
const ORPHANS: usize = 16;

/// Sets `v` to `n` zero bytes, within its capacity: never allocates (`EINVAL` if `n` does not
/// fit), so it may run where allocating is not allowed.
fn refill(v: &mut KVec<u8>, n: usize) -> Result {
    if n > v.capacity() {
        return Err(EINVAL);
    }
    // SAFETY: 0 is not more than the capacity, and `u8` needs no drop: shortening to 0
    // leaves no element behind that would have to be dropped or stay initialised.
    unsafe { v.set_len(0) };
    // Within the capacity (checked above): `reserve` returns before allocating.
    v.extend_with(n, 0, GFP_NOWAIT)?;
    Ok(())
}

/// Requests queued on a [`Queue`] with one notification of the device, when the batch is
/// dropped (instead of one per request).
pub(crate) struct Batch<'a> {
    queue: &'a Queue,
}

impl Batch<'_> {
    /// Queues a request as [`Queue::submit`] does, without notifying the device yet.
    pub(crate) fn submit<C: Completion>(
        &self,
        out_len: usize,
        resp_len: usize,
        encode: impl FnOnce(&mut [u8]) -> Result,
        done: C,
    ) -> Result<C::Handle> {
        self.queue
            .submit_inner(out_len, resp_len, encode, done, false)
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
/// `0` points to a virtqueue found by [`Queues::new`] or [`Queues::restore`] and not yet
/// deleted; it is only used
/// under the owning [`Queue`]'s `ring` lock (or by [`Queue::kill`] after taking it out of
/// the ring), which serialises calls as the virtqueue API requires. Every token queued on it
/// is a `KBox<InFlight>` turned into a raw pointer.
struct RawVq(NonNull<bindings::virtqueue>);

// SAFETY: A virtqueue may be used from any thread as long as calls are serialised, which the
// lock around `RawVq` ensures (type invariant).
unsafe impl Send for RawVq {}

/// The ring of a [`Queue`] and what only its lock may touch.
struct Ring {
    /// The virtqueue, `None` once dead or while suspended.
    vq: Option<RawVq>,
    /// The device is suspended ([`Queues::freeze`]): the virtqueue is deleted until
    /// [`Queues::restore`] finds it again, and submitters wait for that instead of failing.
    suspended: bool,
    /// Requests an [`AtomicBatch`] took off the ring while polling that were not its own:
    /// the next [`Queue::dequeue`] completes them first (their order among themselves is not
    /// kept; each request's completion stands alone).
    orphans: [Option<(KBox<InFlight>, usize)>; ORPHANS],
    /// The reserved requests of [`AtomicBatch`], home while not in flight.
    reserved: [Option<KBox<InFlight>>; RESERVED],
}

impl Ring {
    /// Takes back the next request the device is done with, orphans first, with the length
    /// of its answer; reserved requests go home on the way. `None` if there is none.
    fn next_used(&mut self) -> Option<(KBox<InFlight>, usize)> {
        if let Some(req) = self.orphans.iter_mut().find_map(Option::take) {
            return Some(req);
        }
        loop {
            let (req, len) = self.get_buf()?;
            if let Err(req) = self.home(req) {
                return Some((req, len));
            }
        }
    }

    /// One used buffer off the ring, if any.
    fn get_buf(&mut self) -> Option<(KBox<InFlight>, usize)> {
        let vq = self.vq.as_ref()?;
        let mut len: u32 = 0;
        // SAFETY: By the type invariant of `RawVq` the virtqueue is alive and the ring lock
        // (held: we have `&mut Ring`) serialises us; `len` is a valid place for the length.
        let token = unsafe { bindings::virtqueue_get_buf(vq.0.as_ptr(), &mut len) };
        if token.is_null() {
            return None;
        }
        // SAFETY: Every token on this queue is a `KBox<InFlight>` pointer (type invariant of
        // `RawVq`) and the device returned this one, so we own it again.
        let req = unsafe { KBox::from_raw(token.cast::<InFlight>()) };
        // The device cannot have written more than it was given.
        let len = (len as usize).min(req.bufs.input.len());
        Some((req, len))
    }

    /// Puts `req` back into the reserve if it is a reserved request; gives it back if not.
    fn home(&mut self, req: KBox<InFlight>) -> core::result::Result<(), KBox<InFlight>> {
        if !matches!(req.notify, Notify::Reserved) {
            return Err(req);
        }
        if let Some(slot) = self.reserved.iter_mut().find(|s| s.is_none()) {
            *slot = Some(req);
        }
        Ok(())
    }
}

/// One virtqueue of a device, shared by everyone who submits to it.
///
/// After the device is removed the queue is *dead*: submissions fail with `ENODEV` and
/// requests still in flight were completed with `ENODEV`. While the device is suspended the
/// queue is *suspended*: submissions wait until it is restored (or dies).
#[pin_data]
pub(crate) struct Queue {
    /// The ring: the virtqueue (`None` once dead), orphans and reserved requests.
    #[pin]
    ring: TryLock<Ring>,
    /// Held by a submitter from finding the ring full until it waits on `space`, and taken
    /// by [`Queue::dequeue`] before it signals `space`: no wake-up is lost in between.
    /// Submitters that find room take only the ring lock ([`Queue::queue_req`]).
    #[pin]
    submit: Mutex<()>,
    /// How many submitters are in [`Queue::queue_req_slow`] (counted before they look at
    /// the ring again): [`Queue::dequeue`] takes `submit` and signals `space` only if there
    /// is one.
    waiting: AtomicUsize,
    /// Signalled when the device returned buffers (room in the ring) or the queue died.
    #[pin]
    space: CondVar,
    /// Runs [`Queue::dequeue`] after a used-buffer interrupt.
    #[pin]
    work: Work<Queue>,
    /// Finished small requests kept for reuse (see [`Queue::recycled`]).
    pool: Pool,
    /// Requests whose answers were dropped (fault injection, `vgrs_drop_responses`): as if
    /// the device still held them; failed when the queue dies.
    #[pin]
    lost: Mutex<KVec<KBox<InFlight>>>,
    /// The device's reset, shared by its queues.
    wedge: Arc<Wedge>,
    /// Requests handed to the device by [`Queue::queue_req`], and how many of those ended
    /// (answered or failed): the watchdog's measure of progress ([`VqTable::watch`]).
    added: AtomicU64,
    ended: AtomicU64,
}

/// Why [`Queue::try_queue`] did not add a request.
enum Retry {
    /// The ring is full or the queue suspended: the request, to try again after a wait.
    Blocked(KBox<InFlight>),
    /// The request cannot be queued (the queue is dead, or the request is malformed).
    Failed(Error),
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
    /// Queues a request: a command of `out_len` bytes, written by `encode` into a zeroed
    /// buffer, with room for an answer of `resp_len` bytes (0: none), and notifies the device.
    /// `done` decides who hears of the answer and what this returns (a [`Pending`] for
    /// [`Wait`]). Waits for room if the ring is full. The device handles a queue's requests in
    /// order, so a later request that is waited for also means earlier ones were done.
    ///
    /// Small requests nobody waits for are recycled, as the C driver takes its buffers from a
    /// `kmem_cache`: in steady state they allocate nothing.
    pub(crate) fn submit<C: Completion>(
        &self,
        out_len: usize,
        resp_len: usize,
        encode: impl FnOnce(&mut [u8]) -> Result,
        done: C,
    ) -> Result<C::Handle> {
        self.submit_inner(out_len, resp_len, encode, done, true)
    }

    /// Starts a batch of requests; the device is notified once, when the batch is dropped.
    pub(crate) fn batch(&self) -> Batch<'_> {
        Batch { queue: self }
    }

    /// Starts an [`AtomicBatch`] (drm_panic): takes the ring lock only if it is free, since
    /// its holder may be a CPU that will never run again. `EBUSY` if it is not free, `ENODEV`
    /// if the queue is dead.
    pub(crate) fn atomic(&self) -> Result<AtomicBatch<'_>> {
        let ring = self.ring.try_lock().ok_or(EBUSY)?;
        if ring.vq.is_none() {
            return Err(ENODEV);
        }
        Ok(AtomicBatch { ring, queued: 0 })
    }

    fn submit_inner<C: Completion>(
        &self,
        out_len: usize,
        resp_len: usize,
        encode: impl FnOnce(&mut [u8]) -> Result,
        done: C,
        kick: bool,
    ) -> Result<C::Handle> {
        let mut req = self.recycled(out_len, resp_len, C::POOLED)?;
        if let Err(e) = encode(&mut req.bufs.out) {
            self.recycle(req);
            return Err(e);
        }
        let (notify, handle) = match done.prepare(&self.wedge) {
            Ok(p) => p,
            Err(e) => {
                self.recycle(req);
                return Err(e);
            }
        };
        req.notify = notify;
        self.queue_req(req, kick)?;
        Ok(handle)
    }

    /// Notifies the device of the requests added since the last notification.
    fn notify(&self) {
        kick(&self.ring.lock());
    }

    /// A request with zeroed buffers of `out_len` and `resp_len` bytes: if `poolable` and both
    /// fit [`POOL_BUF`], a recycled one when the pool has one, else a new one kept for reuse.
    fn recycled(&self, out_len: usize, resp_len: usize, poolable: bool) -> Result<KBox<InFlight>> {
        let fits = poolable && out_len <= POOL_BUF && resp_len <= POOL_BUF;
        let old = if fits { self.pool.take() } else { None };
        let Some(mut req) = old else {
            let cap = if fits { POOL_BUF } else { 0 };
            let mut out = KVec::with_capacity(out_len.max(cap), GFP_KERNEL)?;
            out.extend_with(out_len, 0, GFP_KERNEL)?;
            let mut input = KVec::with_capacity(resp_len.max(cap), GFP_KERNEL)?;
            input.extend_with(resp_len, 0, GFP_KERNEL)?;
            let req = InFlight {
                bufs: Buffers { out, input },
                notify: Notify::Nothing,
                pooled: fits,
            };
            return Ok(KBox::new(req, GFP_KERNEL)?);
        };
        // Both buffers have `POOL_BUF` bytes of capacity: refilling them allocates nothing.
        refill(&mut req.bufs.out, out_len)?;
        refill(&mut req.bufs.input, resp_len)?;
        Ok(req)
    }

    /// Keeps a finished pooled request for [`Queue::recycled`] if the pool has room; frees
    /// any other.
    fn recycle(&self, mut req: KBox<InFlight>) {
        if !req.pooled {
            return;
        }
        req.notify = Notify::Nothing;
        self.pool.put(req);
    }

    /// Adds a request to the ring, waiting for room, and notifies the device if `notify`.
    ///
    /// Most of the time there is room and this takes the ring lock only; a submitter that
    /// finds the ring full or the queue suspended goes on in [`Queue::queue_req_slow`].
    fn queue_req(&self, req: KBox<InFlight>, notify: bool) -> Result {
        match self.try_queue(req, notify) {
            Ok(()) => Ok(()),
            Err(Retry::Failed(e)) => Err(e),
            Err(Retry::Blocked(req)) => self.queue_req_slow(req, notify),
        }
    }

    /// One attempt of [`Queue::queue_req`]: the request is added if the queue is live and
    /// has room, handed back if it is full or suspended.
    ///
    /// A request that cannot be queued is dropped after the ring lock (its completion's
    /// `Drop` may sleep).
    fn try_queue(&self, req: KBox<InFlight>, notify: bool) -> Result<(), Retry> {
        let ring = self.ring.lock();
        let Some(vq) = ring.vq.as_ref() else {
            let suspended = ring.suspended;
            drop(ring);
            return Err(if suspended {
                Retry::Blocked(req)
            } else {
                drop(req);
                Retry::Failed(ENODEV)
            });
        };
        let added = Self::add(vq, req);
        match added {
            Ok(()) => {
                // Under the ring lock: the watchdog reads it there.
                self.added.fetch_add(1, Relaxed);
                if notify {
                    kick(&ring);
                }
                Ok(())
            }
            Err((e, back)) if e == ENOSPC => {
                // The ring may be full of requests of a batch the device has not been told
                // about yet: tell it, or the room never comes.
                kick(&ring);
                Err(Retry::Blocked(back))
            }
            Err((e, back)) => {
                drop(ring);
                drop(back);
                Err(Retry::Failed(e))
            }
        }
    }

    /// [`Queue::queue_req`] for a submitter that found no room: under `submit`, counted in
    /// `waiting`, it tries again and waits on `space` until it gets in or the queue dies.
    ///
    /// No wake-up is lost: `waiting` is counted before the ring is looked at again, under the
    /// ring lock; a dequeue that frees room after that look reads `waiting` after its own
    /// ring lock section, so it sees the count, takes `submit` (held here until the wait) and
    /// signals. A dequeue whose room this look saw needs to signal nothing.
    fn queue_req_slow(&self, mut req: KBox<InFlight>, notify: bool) -> Result {
        let mut sub = self.submit.lock();
        self.waiting.fetch_add(1, SeqCst);
        let r = loop {
            match self.try_queue(req, notify) {
                Ok(()) => break Ok(()),
                Err(Retry::Failed(e)) => break Err(e),
                Err(Retry::Blocked(back)) => {
                    req = back;
                    // Woken by `dequeue` (room), `resume` or `kill`.
                    self.space.wait(&mut sub);
                }
            }
        };
        self.waiting.fetch_sub(1, SeqCst);
        r
    }

    /// Adds one request to the ring (the caller holds the ring lock). On failure the request
    /// is handed back. A request without an answer buffer takes one descriptor, so the ring
    /// never allocates an indirect table for it (`virtqueue_use_indirect` wants two or more).
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
        // - `GFP_ATOMIC`: we hold the ring's spinlock.
        let ret = unsafe {
            bindings::virtqueue_add_sgs(
                vq.0.as_ptr(),
                sgs.as_mut_ptr(),
                1,
                in_sgs,
                token.cast(),
                bindings::GFP_ATOMIC,
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
    /// Requests come off the ring one at a time under the ring lock and are completed
    /// outside it (a waiter's lock sleeps), in the order the device returned them. Only one
    /// dequeue runs at a time (one work item), so that order holds.
    fn dequeue(&self) {
        #[cfg(vgrs_debug)]
        debug_delay();
        // Up to DEQUEUE_BATCH returned requests per ring lock section, handled outside it:
        // one section for the usual single answer, not one per answer plus one to see the
        // ring empty.
        loop {
            let mut got: [Option<(KBox<InFlight>, usize)>; DEQUEUE_BATCH] =
                [const { None }; DEQUEUE_BATCH];
            let mut n = 0;
            {
                let mut ring = self.ring.lock();
                while n < DEQUEUE_BATCH {
                    let Some(used) = ring.next_used() else {
                        break;
                    };
                    got[n] = Some(used);
                    n += 1;
                }
            }
            for (req, len) in got.into_iter().flatten() {
                if let Some(req) = self.lose(req) {
                    self.finish(req, len);
                }
            }
            if n < DEQUEUE_BATCH {
                break;
            }
        }
        // See `queue_req_slow`: a submitter that found the ring full holds `submit` until it
        // waits; one that is there was counted in `waiting` before it looked.
        if self.waiting.load(SeqCst) != 0 {
            drop(self.submit.lock());
            self.space.notify_all();
        }
    }

    /// Fault injection: keeps a request with an answer as if the device had not returned it,
    /// while `vgrs_drop_responses` counts down. Gives the request back if it is to be
    /// completed.
    fn lose(&self, req: KBox<InFlight>) -> Option<KBox<InFlight>> {
        if req.bufs.input.is_empty() {
            return Some(req);
        }
        // SAFETY: Reads and counts down the fault-injection counter; no requirements.
        if !unsafe { bindings::vgrs_take_dropped_response() } {
            return Some(req);
        }
        let mut lost = self.lost.lock();
        if lost.reserve(1, GFP_KERNEL).is_err() {
            return Some(req);
        }
        pr_warn!("fault injection: an answer of the device dropped\n");
        // Cannot fail: room was reserved above.
        let _ = lost.push(req, GFP_KERNEL);
        None
    }

    /// Hands a request the device returned, with `len` bytes of answer, to whoever wants it.
    fn finish(&self, mut req: KBox<InFlight>, len: usize) {
        self.count_end(&req);
        match core::mem::replace(&mut req.notify, Notify::Nothing) {
            Notify::Waiter(slot) => {
                let InFlight { bufs, .. } = KBox::into_inner(req);
                slot.complete(Ok(Reply { bufs, len }));
            }
            Notify::Check(check) => {
                check(&req.bufs.out, req.bufs.input.get(..len).unwrap_or(&[]));
                self.recycle(req);
            }
            Notify::Handler(h) => {
                h.done(&req.bufs.out, req.bufs.input.get(..len).unwrap_or(&[]));
                self.recycle(req);
            }
            Notify::Owned(mut f) => {
                f.done(&req.bufs.out, req.bufs.input.get(..len).unwrap_or(&[]));
                self.recycle(req);
                drop(f);
            }
            Notify::Nothing | Notify::Reserved => self.recycle(req),
        }
    }

    /// Makes the queue dead: takes back every request the device still holds (the device
    /// must be reset already) and completes them with `ENODEV`.
    fn kill(&self) {
        let vq = {
            let mut ring = self.ring.lock();
            ring.suspended = false;
            ring.vq.take()
        };
        if let Some(vq) = vq {
            self.take_back(vq);
        }
        self.settle();
        drop(self.submit.lock());
        self.space.notify_all();
    }

    /// Takes back every request still on `vq`, a virtqueue taken out of the ring of a reset
    /// device: reserved requests go home, the others fail with `ENODEV`.
    fn take_back(&self, vq: RawVq) {
        loop {
            // SAFETY: The virtqueue is alive (type invariant of `RawVq`), the device is reset
            // (the caller's requirement), and it was taken out of the ring, so nobody else
            // uses it.
            let token = unsafe { bindings::virtqueue_detach_unused_buf(vq.0.as_ptr()) };
            if token.is_null() {
                break;
            }
            // SAFETY: Every token on this queue is a `KBox<InFlight>` pointer, and detaching
            // it gave it back to us.
            let req = unsafe { KBox::from_raw(token.cast::<InFlight>()) };
            // Its own statement: the ring lock is dropped before the request fails (a
            // failure may sleep: a fence driver's lock, an object freed).
            let back = self.ring.lock().home(req);
            if let Err(req) = back {
                self.count_end(&req);
                fail(req);
            }
        }
    }

    /// After a reset: fails the requests whose answers fault injection dropped and completes
    /// the orphans (answered before the reset).
    fn settle(&self) {
        // Answers dropped by fault injection: the device never gave them.
        let lost = core::mem::take(&mut *self.lost.lock());
        for req in lost {
            self.count_end(&req);
            fail(req);
        }
        // The device answered these before the reset: they complete as usual.
        loop {
            let orphan = self.ring.lock().orphans.iter_mut().find_map(Option::take);
            let Some((req, len)) = orphan else {
                break;
            };
            self.finish(req, len);
        }
    }

    /// Counts a request of [`Queue::queue_req`] that ended (reserved requests of
    /// [`AtomicBatch`] are not counted when added, so not here either).
    fn count_end(&self, req: &InFlight) {
        if !matches!(req.notify, Notify::Reserved) {
            self.ended.fetch_add(1, Relaxed);
        }
    }

    /// The watchdog's look at the queue: how many requests were added and how many of them
    /// ended, while the queue has a virtqueue (not dead, not suspended).
    fn progress(&self) -> Option<(u64, u64)> {
        let ring = self.ring.lock();
        ring.vq.as_ref()?;
        // `ended` first: it never passes `added`, which cannot change while we hold the lock.
        let ended = self.ended.load(Relaxed);
        Some((self.added.load(Relaxed), ended))
    }

    /// Whether the device holds no request of this queue and every answer it gave back was
    /// handled (a dead or suspended queue is idle).
    fn idle(&self) -> bool {
        let ring = self.ring.lock();
        let Some(vq) = ring.vq.as_ref() else {
            return true;
        };
        let vq = vq.0.as_ptr();
        // SAFETY: By the type invariant of `RawVq` the virtqueue is alive; the ring lock (held)
        // serialises us with every call that changes its free count.
        let (size, free) = unsafe { (bindings::virtqueue_get_vring_size(vq), (*vq).num_free) };
        size == free && ring.orphans.iter().all(Option::is_none)
    }

    /// Suspends the queue of a reset device whose completion work has run: takes its
    /// virtqueue out of the ring (the caller deletes it next), takes back what the device
    /// still held (failed with `ENODEV`, reserved requests home) and makes submitters wait
    /// for [`Queue::resume`]. A dead queue stays dead.
    fn suspend(&self) {
        let vq = {
            let mut ring = self.ring.lock();
            let vq = ring.vq.take();
            ring.suspended = vq.is_some();
            vq
        };
        if let Some(vq) = vq {
            self.take_back(vq);
        }
        self.settle();
    }

    /// Gives a suspended queue its new virtqueue `vq` and wakes the submitters waiting for
    /// it; a queue that is not suspended (dead) is left alone.
    fn resume(&self, vq: RawVq) {
        {
            let mut ring = self.ring.lock();
            if !ring.suspended {
                return;
            }
            ring.suspended = false;
            ring.vq = Some(vq);
        }
        // See `queue_req`: a submitter that found the queue suspended holds this until it
        // waits.
        drop(self.submit.lock());
        self.space.notify_all();
    }

    /// `vq->callback`: runs in interrupt context, so it only queues [`Queue::dequeue`] on the
    /// device's workqueue.
    ///
    /// # Safety
    ///
    /// `vq` is a virtqueue set up by [`Queues::new`]: its device's `priv` points to the
    /// [`VqTable`] of the [`Queues`] that owns it until the device is reset (after which no
    /// callback runs).
    unsafe extern "C" fn callback(vq: *mut bindings::virtqueue) {
        // SAFETY: By the function's safety requirements `vq` is valid, and so is its device.
        let (vdev, index) = unsafe { ((*vq).vdev, (*vq).index) };
        // SAFETY: `vdev` is valid (above).
        let table = unsafe { (*vdev).priv_ }.cast::<VqTable>().cast_const();
        if table.is_null() {
            return;
        }
        // SAFETY: By the function's safety requirements a non-null `priv` points to the live,
        // never mutated table of the device's `Queues`.
        let table = unsafe { &*table };
        if let Some(queue) = table.queues.get(index as usize) {
            // Already queued work will see our buffers too; the extra reference is dropped.
            let _ = table.wq.queue().enqueue(queue.clone());
        }
    }
}

/// Notifies the device of what was added to the ring since the last notification.
fn kick(ring: &TryGuard<'_, Ring>) {
    if let Some(vq) = ring.vq.as_ref() {
        // SAFETY: By the type invariant of `RawVq` the virtqueue is alive, and the ring lock
        // (the guard) serialises this call.
        unsafe { bindings::virtqueue_kick(vq.0.as_ptr()) };
    }
}

/// Completes a request the device never answered (the queue died) with `ENODEV`. May sleep:
/// not under the ring lock.
fn fail(mut req: KBox<InFlight>) {
    match core::mem::replace(&mut req.notify, Notify::Nothing) {
        Notify::Waiter(slot) => slot.complete(Err(ENODEV)),
        Notify::Handler(h) => h.failed(),
        Notify::Owned(mut f) => f.failed(),
        _ => {}
    }
}

/// Requests queued by [`Queue::atomic`]: without sleeping, allocating or waiting for a lock,
/// for a CPU that may do none of these (drm_panic). The batch holds the ring lock until it is
/// dropped; dropping it without [`AtomicBatch::finish`] notifies the device all the same.
pub(crate) struct AtomicBatch<'a> {
    ring: TryGuard<'a, Ring>,
    /// Reserved requests this batch queued that the device has not returned yet.
    queued: usize,
}

impl AtomicBatch<'_> {
    /// Queues a command of `out_len` bytes (at most [`RESERVED_BUF`]), written by `encode`
    /// into a zeroed buffer, in a reserved request. It has no answer buffer: one descriptor,
    /// so the ring allocates nothing (the device still runs it and reports completion on the
    /// used ring). `EBUSY` if no reserved request is free (an earlier batch's is still with
    /// the device).
    pub(crate) fn submit(
        &mut self,
        out_len: usize,
        encode: impl FnOnce(&mut [u8]) -> Result,
    ) -> Result {
        let Ring { vq, reserved, .. } = &mut *self.ring;
        let vq = vq.as_ref().ok_or(ENODEV)?;
        let slot = reserved.iter_mut().find(|s| s.is_some()).ok_or(EBUSY)?;
        let mut req = slot.take().ok_or(EBUSY)?;
        let prepared = refill(&mut req.bufs.out, out_len)
            .and_then(|()| refill(&mut req.bufs.input, 0))
            .and_then(|()| encode(&mut req.bufs.out));
        if let Err(e) = prepared {
            *slot = Some(req);
            return Err(e);
        }
        if let Err((e, req)) = Queue::add(vq, req) {
            *slot = Some(req);
            return Err(e);
        }
        self.queued += 1;
        Ok(())
    }

    /// Notifies the device and polls, busy-waiting for at most `timeout_us` microseconds,
    /// until it returned every request of the batch. Requests of others that come back first
    /// are kept for the next [`Queue::dequeue`]; if there is no room left for them the poll
    /// stops (`EBUSY`). `ETIMEDOUT` if the device was not done in time (the requests then go
    /// home when a later dequeue sees them).
    pub(crate) fn finish(mut self, timeout_us: u32) -> Result {
        /// Busy-wait between two looks at the ring.
        const STEP_US: u32 = 10;
        kick(&self.ring);
        let mut waited = 0;
        while self.queued > 0 {
            if self.ring.orphans.iter().all(Option::is_some) {
                return Err(EBUSY);
            }
            match self.ring.get_buf() {
                Some((req, len)) => match self.ring.home(req) {
                    Ok(()) => self.queued -= 1,
                    Err(req) => {
                        if let Some(slot) = self.ring.orphans.iter_mut().find(|s| s.is_none()) {
                            *slot = Some((req, len));
                        }
                    }
                },
                None if waited >= timeout_us => return Err(errno::etimedout()),
                None => {
                    // SAFETY: `udelay` busy-waits; it may be called in any context.
                    unsafe { bindings::vgrs_udelay(STEP_US as usize) };
                    waited += STEP_US;
                }
            }
        }
        Ok(())
    }
}

impl Drop for AtomicBatch<'_> {
    fn drop(&mut self) {
        kick(&self.ring);
    }
}

/// Debug builds: sleeps for the `completion_delay_ms` module parameter, so a test can unbind
/// and unload the driver while completion work is queued or running.
#[cfg(vgrs_debug)]
fn debug_delay() {
    // SAFETY: Reads a module parameter; no requirements.
    let ms = unsafe { bindings::vgrs_debug_completion_delay_ms() };
    if ms > 0 {
        // SAFETY: The completion work runs in process context, where sleeping is allowed.
        unsafe { bindings::msleep(ms) };
    }
}

/// A workqueue owned by the driver (`alloc_workqueue`); dropping it runs what is queued,
/// waits for what runs and destroys it (`destroy_workqueue`), so no work item of it can run
/// after the drop, and so none after the module is gone.
///
/// # Invariants
///
/// `0` is a workqueue from `alloc_workqueue`, destroyed only by `drop`.
struct OwnedWq(NonNull<bindings::workqueue_struct>);

// SAFETY: A workqueue may be used and destroyed from any thread.
unsafe impl Send for OwnedWq {}

// SAFETY: Queueing work (all `&OwnedWq` allows) is thread-safe.
unsafe impl Sync for OwnedWq {}

impl OwnedWq {
    fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a NUL-terminated string that outlives the workqueue (`'static`).
        let wq = unsafe { bindings::vgrs_alloc_workqueue(name.as_char_ptr()) };
        // INVARIANT: a workqueue from `alloc_workqueue`.
        Ok(Self(NonNull::new(wq).ok_or(ENOMEM)?))
    }

    fn queue(&self) -> &workqueue::Queue {
        // SAFETY: By the type invariant the workqueue is alive until `self` is dropped, which
        // cannot happen while the returned borrow of `self` lives.
        unsafe { workqueue::Queue::from_raw(self.0.as_ptr()) }
    }
}

impl Drop for OwnedWq {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the workqueue is alive and destroyed only here;
        // `destroy_workqueue` drains it (queued work runs, running work is waited for).
        unsafe { bindings::destroy_workqueue(self.0.as_ptr()) };
    }
}

/// What a device that stops answering gets: a reset, shared by the device's queues.
///
/// A waiter whose command goes unanswered for `cmd_timeout_ms` resets the device: it then
/// returns nothing and touches no buffer, so every request in flight, the dropped ones too,
/// is failed (waiters get `ENODEV`, handlers hear [`Handler::failed`]), and the queues are
/// dead: submissions fail with `ENODEV`. Recovery is an unbind and a bind, which sets the
/// device up afresh.
///
/// # Invariants
///
/// While `state.vdev` is `Some`, it is the bound device of the [`Queues`] that made this, not
/// reset by a wedge yet, and that [`Queues`] is not being dropped: [`Queues::drop`] sets it
/// to `None`, under the lock, before it resets the device or deletes the virtqueues, and a
/// wedge takes it. `state.queues` are that device's queues (a reference cycle, broken by
/// whichever of the two comes first). `state.vqs_gone`: the device's virtqueues were deleted
/// by [`Queues::freeze`] and not found again by [`Queues::restore`].
#[pin_data]
pub(crate) struct Wedge {
    #[pin]
    state: Mutex<WedgeState>,
}

struct WedgeState {
    vdev: Option<NonNull<bindings::virtio_device>>,
    queues: KVec<Arc<Queue>>,
    vqs_gone: bool,
}

// SAFETY: `vdev` is only used under the `Wedge` lock, for `virtio_reset_device`, which may be
// called from any thread.
unsafe impl Send for WedgeState {}

impl Wedge {
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                state <- new_mutex!(WedgeState {
                    vdev: None,
                    queues: KVec::new(),
                    vqs_gone: false,
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// The device did not answer in `ms` milliseconds: resets it and fails every request in
    /// flight on each of its queues. Once per binding; nothing if the device is being removed
    /// (the removal fails them).
    fn wedge(&self, ms: u32) {
        let st = &mut *self.state.lock();
        // Taken: once per binding, and not while the device is being removed.
        let Some(vdev) = st.vdev.take() else {
            return;
        };
        if st.vqs_gone {
            // Suspended: nothing is in flight, and the device stays as it is.
            st.vdev = Some(vdev);
            return;
        }
        pr_err!(
            "the device did not answer a command in {} ms: reset, every request in flight failed; unbind and bind the device to recover\n",
            ms
        );
        // SAFETY: By the type invariant `vdev` was bound and its virtqueues are not deleted
        // while we hold the lock. Resetting stops the device from using any buffer and waits
        // for running virtqueue callbacks, as `Queue::kill` requires.
        unsafe { bindings::virtio_reset_device(vdev.as_ptr()) };
        // Killed under the lock: `Queues::drop` deletes the virtqueues only after taking it.
        for q in core::mem::take(&mut st.queues) {
            q.kill();
        }
    }
}

/// What `vdev->priv` points to: the device's workqueue and its queues, in index order.
///
/// # Invariants
///
/// `watchdog` is initialised with [`watchdog_run`] right after the table is boxed, and is
/// queued only while the table lives: [`Queues::drop`] cancels it (synchronously) before it
/// frees the table.
struct VqTable {
    wq: OwnedWq,
    queues: KVec<Arc<Queue>>,
    /// The virtqueues' names, for finding them again at restore.
    names: KVec<&'static CStr>,
    /// Looks for a queue that made no progress for `cmd_timeout_ms` ([`VqTable::watch`]),
    /// on the system workqueue (a reset must not wait for work queued behind it on `wq`).
    watchdog: Opaque<bindings::delayed_work>,
    /// Per queue, the `ended` count at the watchdog's last look and the time (ms) it last saw
    /// the queue idle or a request end.
    seen: [(AtomicU64, AtomicU64); MAX_QUEUES],
}

impl VqTable {
    /// Queues the watchdog's next look: a quarter of `cmd_timeout_ms` from now, at most a
    /// second (so a changed timeout takes effect soon), at least 50 ms.
    fn arm(&self) {
        let ms = (cmd_timeout_ms() / 4).clamp(50, 1000);
        // SAFETY: By the type invariant the work is initialised and the table outlives it
        // being queued.
        unsafe { bindings::vgrs_schedule_delayed_work(self.watchdog.get(), msecs_to_jiffies(ms)) };
    }

    /// Starts watching afresh (a new binding, or a restore): the time until now is not held
    /// against the queues.
    fn start_watch(&self) {
        let now = now_ms();
        for (q, (ended, mark)) in self.queues.iter().zip(self.seen.iter()) {
            if let Some((_, e)) = q.progress() {
                ended.store(e, Relaxed);
                mark.store(now, Relaxed);
            }
        }
        self.arm();
    }

    /// Stops the watchdog and waits for a running look to end.
    fn stop_watch(&self) {
        // SAFETY: By the type invariant the work is initialised; cancelling a work that is not
        // queued does nothing, and a look that re-queues itself is cancelled too.
        unsafe { bindings::cancel_delayed_work_sync(self.watchdog.get()) };
    }

    /// One look of the watchdog. A queue that is idle, or ended a request since the last
    /// look, is making progress: its mark moves to now. One that holds requests and has ended
    /// none since its mark, `cmd_timeout_ms` or more ago, has stopped answering: the device is
    /// reset ([`Wedge::wedge`]), which fails every request in flight. (A request added just
    /// after a look that saw the queue idle waits at least the timeout less one look's period.)
    /// Waited-for requests time out by themselves ([`Pending::wait`]); this catches the ones
    /// nobody waits for in the kernel, such as a fenced submission whose fence a client polls
    /// or a commit waits on. Returns whether any queue is still alive (worth another look).
    fn watch(&self) -> bool {
        let ms = cmd_timeout_ms();
        let now = now_ms();
        let mut alive = false;
        for (q, (ended, mark)) in self.queues.iter().zip(self.seen.iter()) {
            let Some((a, e)) = q.progress() else {
                continue;
            };
            alive = true;
            if e == a || e != ended.load(Relaxed) || ms == 0 {
                ended.store(e, Relaxed);
                mark.store(now, Relaxed);
                continue;
            }
            let stuck = now.saturating_sub(mark.load(Relaxed)) >= u64::from(ms);
            if stuck {
                pr_err!(
                    "watchdog: the device answered nothing for {} ms while it held requests\n",
                    ms
                );
                // The device's reset, which its queues share.
                q.wedge.wedge(ms);
                return false;
            }
        }
        alive
    }
}

/// Milliseconds of `CLOCK_MONOTONIC`.
fn now_ms() -> u64 {
    u64::try_from(Ktime::ktime_get().to_ms()).unwrap_or(0)
}

/// The watchdog's work function: one look, then the next one queued while a queue lives.
///
/// # Safety
///
/// Called by the workqueue core for the `watchdog` work of a live [`VqTable`].
unsafe extern "C" fn watchdog_run(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the work of a `delayed_work` (the caller's requirement).
    let dwork = unsafe { bindings::vgrs_to_delayed_work(work) };
    // SAFETY: `dwork` is the `watchdog` field of a live `VqTable` (the caller's requirement);
    // `Opaque<delayed_work>` has the layout of a `delayed_work`.
    let table = unsafe {
        &*kernel::container_of!(
            dwork.cast::<Opaque<bindings::delayed_work>>(),
            VqTable,
            watchdog
        )
    };
    if table.watch() {
        table.arm();
    }
}

/// The virtqueues of a bound device. Dropping it resets the device, waits for the completion
/// work, completes whatever the device still held with `ENODEV`, and deletes the virtqueues.
///
/// # Invariants
///
/// - `vdev` is the bound device whose virtqueues the `table` queues are; the virtio driver
///   abstraction drops this owner in `remove`, while the device is still bound.
/// - `vdev->priv` points to `*table` (a heap allocation that does not move) from
///   [`Queues::new`] until [`Queues::drop`] resets the device; the table is not mutated.
/// - Completion work of the queues is only queued on `table.wq`, so destroying it (in drop)
///   leaves none queued or running.
pub(crate) struct Queues {
    vdev: NonNull<bindings::virtio_device>,
    table: Option<KBox<VqTable>>,
    wedge: Arc<Wedge>,
}

// SAFETY: `Queues` only uses `vdev` in `drop`, for calls that may be made from any thread.
unsafe impl Send for Queues {}

// SAFETY: `&Queues` only gives out the `Arc<Queue>`s, which are `Sync`.
unsafe impl Sync for Queues {}

/// Most virtqueues a device of ours has.
const MAX_QUEUES: usize = 4;

impl Queues {
    /// Finds the device's virtqueues, named `names` in order, with a workqueue `wq_name` for
    /// their completions.
    ///
    /// # Safety
    ///
    /// The caller must drop the result before the driver's `remove` returns.
    pub(super) unsafe fn new(
        dev: &Device,
        names: &[&'static CStr],
        wq_name: &'static CStr,
    ) -> Result<Self> {
        let n = names.len();
        if n == 0 || n > MAX_QUEUES {
            return Err(EINVAL);
        }
        let mut queues = KVec::with_capacity(n, GFP_KERNEL)?;
        let wedge = Wedge::new()?;
        for _ in 0..n {
            let mut reserved = [const { None }; RESERVED];
            for slot in reserved.iter_mut() {
                let req = InFlight {
                    bufs: Buffers {
                        out: KVec::with_capacity(RESERVED_BUF, GFP_KERNEL)?,
                        input: KVec::new(),
                    },
                    notify: Notify::Reserved,
                    pooled: false,
                };
                *slot = Some(KBox::new(req, GFP_KERNEL)?);
            }
            let ring = Ring {
                vq: None,
                suspended: false,
                orphans: [const { None }; ORPHANS],
                reserved,
            };
            let shared = wedge.clone();
            let q = Arc::pin_init(
                pin_init!(Queue {
                    ring <- TryLock::new(ring),
                    submit <- new_mutex!(()),
                    waiting: AtomicUsize::new(0),
                    space <- new_condvar!(),
                    work <- new_work!("virtio_gpu_rs::Queue::work"),
                    pool: Pool::new(),
                    lost <- new_mutex!(KVec::new()),
                    wedge: shared,
                    added: AtomicU64::new(0),
                    ended: AtomicU64::new(0),
                }),
                GFP_KERNEL,
            )?;
            queues.push(q, GFP_KERNEL)?;
        }
        let mut kept = KVec::with_capacity(n, GFP_KERNEL)?;
        for name in names {
            kept.push(*name, GFP_KERNEL)?;
        }
        let table = KBox::new(
            VqTable {
                wq: OwnedWq::new(wq_name)?,
                queues,
                names: kept,
                watchdog: Opaque::uninit(),
                seen: [const { (AtomicU64::new(0), AtomicU64::new(0)) }; MAX_QUEUES],
            },
            GFP_KERNEL,
        )?;
        // INVARIANT: initialised before anything can queue it; the table is boxed and does not
        // move until `Queues::drop`, which cancels the work before it frees the table.
        // SAFETY: `watchdog` is an uninitialised `delayed_work`, not queued.
        unsafe { bindings::vgrs_init_delayed_work(table.watchdog.get(), Some(watchdog_run)) };
        // The wedge's references to the queues, made before the virtqueues: nothing may fail
        // once they exist, since only `Queues::drop` deletes them (and clears `priv`).
        let mut all = KVec::with_capacity(n, GFP_KERNEL)?;
        for q in table.queues.iter() {
            all.push(q.clone(), GFP_KERNEL)?;
        }
        // SAFETY: `dev` is valid; `priv` belongs to the driver, and no callback can read it
        // before buffers are queued, which needs the queues we are creating.
        unsafe { (*dev.as_raw()).priv_ = (&raw const *table).cast_mut().cast() };
        let vqs = match find_vqs(dev, names) {
            Ok(vqs) => vqs,
            Err(e) => {
                // SAFETY: `dev` is valid; no virtqueue exists that could use `priv`.
                unsafe { (*dev.as_raw()).priv_ = core::ptr::null_mut() };
                return Err(e);
            }
        };
        for (q, vq) in table.queues.iter().zip(vqs) {
            if let Some(vq) = NonNull::new(vq) {
                // INVARIANT: `vq` is alive until `Queues::drop` deletes it after `kill`.
                q.ring.lock().vq = Some(RawVq(vq));
            }
        }
        {
            let st = &mut *wedge.state.lock();
            // INVARIANT: the bound device and its queues; `Queues::drop` clears both first.
            st.vdev = Some(NonNull::from(dev).cast());
            st.queues = all;
        }
        table.start_watch();
        // INVARIANT: `priv` points to the table set up above; the caller drops us in `remove`;
        // the callback queues completion work only on the table's workqueue.
        Ok(Self {
            vdev: NonNull::from(dev).cast(),
            table: Some(table),
            wedge,
        })
    }

    /// Returns queue `i` (in the order of the names given to [`Queues::new`]).
    pub(crate) fn get(&self, i: usize) -> Option<&Arc<Queue>> {
        self.table.as_ref()?.queues.get(i)
    }

    /// Suspend (virtio `freeze`): waits up to `cmd_timeout_ms` for the device to answer
    /// everything in flight, then resets it, runs the completion work, fails whatever it
    /// still held (`ENODEV`) and deletes the virtqueues. Submitters then wait for
    /// [`Queues::restore`].
    ///
    /// The caller (the virtio driver abstraction) holds the device lock, so neither `remove`
    /// nor `restore` runs meanwhile.
    pub(super) fn freeze(&self) {
        let Some(table) = self.table.as_ref() else {
            return;
        };
        // No look while the queues are suspended; `restore` starts it again.
        table.stop_watch();
        let limit = match cmd_timeout_ms() {
            0 => 20_000,
            ms => ms,
        };
        let mut waited = 0;
        while waited < limit && !table.queues.iter().all(|q| q.idle()) {
            // SAFETY: Freeze runs in process context, where sleeping is allowed.
            unsafe { bindings::msleep(5) };
            waited += 5;
        }
        if waited >= limit {
            pr_warn!(
                "suspend: the device still held requests after {} ms; they fail\n",
                limit
            );
        }
        let st = &mut *self.wedge.state.lock();
        if st.vqs_gone {
            return;
        }
        let vdev = self.vdev.as_ptr();
        // SAFETY: By the type invariant `vdev` is bound (the device lock keeps `remove`
        // away). Resetting stops the device from using any buffer and waits for running
        // virtqueue callbacks, so no completion work is queued after it (a wedged device was
        // reset already; once more does no harm).
        unsafe { bindings::virtio_reset_device(vdev) };
        // SAFETY: The table's workqueue is alive (it is destroyed only in `drop`); draining
        // runs what is queued and waits for what runs, which the reset above ended.
        unsafe { bindings::drain_workqueue(table.wq.0.as_ptr()) };
        for q in table.queues.iter() {
            q.suspend();
        }
        // SAFETY: `vdev` is bound and reset; no queue uses its virtqueues any more (each was
        // taken out of its ring above, or earlier by a wedge). `priv` keeps pointing to the
        // table, which stays: without virtqueues no callback reads it.
        unsafe { bindings::vgrs_virtio_del_vqs(vdev) };
        st.vqs_gone = true;
    }

    /// Resume (virtio `restore`, after the virtio core reset the device and negotiated its
    /// features again): finds the virtqueues again and hands them to the suspended queues,
    /// whose waiting submitters go on. `ENODEV` if the device was wedged before the suspend
    /// (its queues stay dead: unbind and bind to recover); if the virtqueues cannot be found
    /// the queues die.
    pub(super) fn restore(&self, dev: &Device) -> Result {
        let Some(table) = self.table.as_ref() else {
            return Err(ENODEV);
        };
        let st = &mut *self.wedge.state.lock();
        if !st.vqs_gone {
            return Err(EINVAL);
        }
        if st.vdev.is_none() {
            return Err(ENODEV);
        }
        let vqs = match find_vqs(dev, table.names.as_slice()) {
            Ok(vqs) => vqs,
            Err(e) => {
                // No virtqueues: the queues die, their waiting submitters get `ENODEV`, and no
                // reset is attempted any more.
                st.vdev = None;
                for q in table.queues.iter() {
                    q.kill();
                }
                return Err(e);
            }
        };
        st.vqs_gone = false;
        for (q, vq) in table.queues.iter().zip(vqs) {
            if let Some(vq) = NonNull::new(vq) {
                // INVARIANT: `vq` is alive until it is deleted by `freeze` or `drop`, each
                // after taking it out of the ring.
                q.resume(RawVq(vq));
            }
        }
        table.start_watch();
        Ok(())
    }
}

/// Finds the device's virtqueues, named `names` (at most [`MAX_QUEUES`]), with
/// [`Queue::callback`] as their callback.
fn find_vqs(
    dev: &Device,
    names: &[&'static CStr],
) -> Result<[*mut bindings::virtqueue; MAX_QUEUES]> {
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
    // SAFETY: `dev` is a valid bound device without virtqueues, whose `priv` points to the
    // `VqTable` the callback expects; `vqs` and `infos` have room for `n` entries and
    // `infos[..n]` is initialised with `'static` names and our callback.
    let ret = unsafe {
        bindings::vgrs_virtio_find_vqs(dev.as_raw(), n as u32, vqs.as_mut_ptr(), infos.as_mut_ptr())
    };
    to_result(ret)?;
    Ok(vqs)
}

impl Drop for Queues {
    fn drop(&mut self) {
        let vdev = self.vdev.as_ptr();
        // No watchdog look from here on: it could reset the device under the teardown.
        if let Some(table) = self.table.as_ref() {
            table.stop_watch();
        }
        // Then, under the lock: a reset in progress ends before the teardown, none starts
        // after it, and the queues' cycle through the wedge is broken.
        let (cycle, vqs_gone) = {
            let st = &mut *self.wedge.state.lock();
            st.vdev = None;
            (core::mem::take(&mut st.queues), st.vqs_gone)
        };
        drop(cycle);
        // SAFETY: By the type invariant `vdev` is still bound. Resetting stops the device from
        // using any buffer and waits for running virtqueue callbacks, so nothing queues
        // completion work any more.
        unsafe { bindings::virtio_reset_device(vdev) };
        // SAFETY: `vdev` is valid; after the reset no callback reads `priv` any more.
        unsafe { (*vdev).priv_ = core::ptr::null_mut() };
        let Some(table) = self.table.take() else {
            return;
        };
        let VqTable { wq, queues, .. } = KBox::into_inner(table);
        // Runs the completion work still queued and waits for a running one (the C driver
        // flushes its dequeue work at this point too): after this no work item of ours runs,
        // so the module can go once `remove` returns.
        drop(wq);
        for q in queues.iter() {
            q.kill();
        }
        if vqs_gone {
            // Deleted by a suspend that no restore followed.
            return;
        }
        // SAFETY: `vdev` is bound (type invariant) and reset; its virtqueues are unused now.
        unsafe { bindings::vgrs_virtio_del_vqs(vdev) };
    }
}
