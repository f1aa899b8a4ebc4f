// SPDX-License-Identifier: GPL-2.0

//! Virtio-gpu wire protocol: command and response layouts, encoding and validated decoding.
//!
//! Every structure mirrors one of `include/uapi/linux/virtio_gpu.h` field for field
//! (`#[repr(C)]`, so the glue can check each size against the C struct at compile time).
//! Fields hold CPU-order values; [`Encode`] writes them little-endian as the device expects,
//! and responses are parsed from bytes with their type and length checked before any field is
//! used. Pure `core` code: also built and fuzzed by the host tests.

#![forbid(unsafe_code)]

use core::mem::size_of;

/// Command and response types (`enum virtio_gpu_ctrl_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CtrlType(pub(crate) u32);

impl CtrlType {
    /// 2D: get the scanouts' preferred sizes and enabled state.
    pub(crate) const GET_DISPLAY_INFO: Self = Self(0x0100);
    /// 2D: create a host resource.
    pub(crate) const RESOURCE_CREATE_2D: Self = Self(0x0101);
    /// Destroy a host resource.
    pub(crate) const RESOURCE_UNREF: Self = Self(0x0102);
    /// Show a resource (or nothing: resource 0) on a scanout.
    pub(crate) const SET_SCANOUT: Self = Self(0x0103);
    /// Flush a rectangle of a resource to the scanouts showing it.
    pub(crate) const RESOURCE_FLUSH: Self = Self(0x0104);
    /// Copy a rectangle from guest backing memory to the host resource.
    pub(crate) const TRANSFER_TO_HOST_2D: Self = Self(0x0105);
    /// Attach guest pages as a resource's backing memory.
    pub(crate) const RESOURCE_ATTACH_BACKING: Self = Self(0x0106);
    /// Detach a resource's backing memory.
    pub(crate) const RESOURCE_DETACH_BACKING: Self = Self(0x0107);
    /// Get information about a capability set.
    pub(crate) const GET_CAPSET_INFO: Self = Self(0x0108);
    /// Get a capability set.
    pub(crate) const GET_CAPSET: Self = Self(0x0109);
    /// Get a scanout's EDID blob.
    pub(crate) const GET_EDID: Self = Self(0x010a);
    /// 3D: create a rendering context.
    pub(crate) const CTX_CREATE: Self = Self(0x0200);
    /// 3D: destroy a rendering context.
    pub(crate) const CTX_DESTROY: Self = Self(0x0201);
    /// 3D: let a context use a resource.
    pub(crate) const CTX_ATTACH_RESOURCE: Self = Self(0x0202);
    /// 3D: take a resource away from a context.
    pub(crate) const CTX_DETACH_RESOURCE: Self = Self(0x0203);
    /// 3D: create a host resource (texture or buffer).
    pub(crate) const RESOURCE_CREATE_3D: Self = Self(0x0204);
    /// 3D: copy a box from guest backing memory to the host resource.
    pub(crate) const TRANSFER_TO_HOST_3D: Self = Self(0x0205);
    /// 3D: copy a box from the host resource to guest backing memory.
    pub(crate) const TRANSFER_FROM_HOST_3D: Self = Self(0x0206);
    /// 3D: submit a command stream to a context.
    pub(crate) const SUBMIT_3D: Self = Self(0x0207);
    /// Cursor queue: set the cursor image and position.
    pub(crate) const UPDATE_CURSOR: Self = Self(0x0300);
    /// Cursor queue: move the cursor.
    pub(crate) const MOVE_CURSOR: Self = Self(0x0301);
    /// Success without data.
    pub(crate) const RESP_OK_NODATA: Self = Self(0x1100);
    /// Success: a [`RespDisplayInfo`].
    pub(crate) const RESP_OK_DISPLAY_INFO: Self = Self(0x1101);
    /// Success: capset info.
    pub(crate) const RESP_OK_CAPSET_INFO: Self = Self(0x1102);
    /// Success: capset data.
    pub(crate) const RESP_OK_CAPSET: Self = Self(0x1103);
    /// Success: a [`RespEdid`].
    pub(crate) const RESP_OK_EDID: Self = Self(0x1104);
    /// Error: unspecified.
    pub(crate) const RESP_ERR_UNSPEC: Self = Self(0x1200);
    /// Error: the host ran out of memory.
    pub(crate) const RESP_ERR_OUT_OF_MEMORY: Self = Self(0x1201);
    /// Error: bad scanout id.
    pub(crate) const RESP_ERR_INVALID_SCANOUT_ID: Self = Self(0x1202);
    /// Error: bad resource id.
    pub(crate) const RESP_ERR_INVALID_RESOURCE_ID: Self = Self(0x1203);
    /// Error: bad context id.
    pub(crate) const RESP_ERR_INVALID_CONTEXT_ID: Self = Self(0x1204);
    /// Error: bad parameter.
    pub(crate) const RESP_ERR_INVALID_PARAMETER: Self = Self(0x1205);
}

/// Header flag: the command carries a fence id the response must echo.
pub(crate) const FLAG_FENCE: u32 = 1;
/// Header flag: `ring_idx` names the context's ring the fence belongs to (context init).
pub(crate) const FLAG_INFO_RING_IDX: u32 = 2;

/// Pixel formats (`enum virtio_gpu_formats`).
pub(crate) mod format {
    /// 32 bpp, bytes B, G, R, A in memory.
    pub(crate) const B8G8R8A8_UNORM: u32 = 1;
    /// 32 bpp, bytes B, G, R, X: DRM's XRGB8888 on little-endian.
    pub(crate) const B8G8R8X8_UNORM: u32 = 2;
    /// 32 bpp, bytes A, R, G, B.
    pub(crate) const A8R8G8B8_UNORM: u32 = 3;
    /// 32 bpp, bytes X, R, G, B.
    pub(crate) const X8R8G8B8_UNORM: u32 = 4;
    /// 32 bpp, bytes R, G, B, A.
    pub(crate) const R8G8B8A8_UNORM: u32 = 67;
    /// 32 bpp, bytes X, B, G, R.
    pub(crate) const X8B8G8R8_UNORM: u32 = 68;
    /// 32 bpp, bytes A, B, G, R.
    pub(crate) const A8B8G8R8_UNORM: u32 = 121;
    /// 32 bpp, bytes R, G, B, X.
    pub(crate) const R8G8B8X8_UNORM: u32 = 134;
}

/// Why a response was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProtoError {
    /// Fewer bytes than the response type needs.
    Short {
        /// Bytes the device wrote.
        got: usize,
        /// Bytes the response needs.
        need: usize,
    },
    /// The device answered with an error type (`RESP_ERR_*`).
    Device(CtrlType),
    /// A success type other than the one the command expects.
    UnexpectedType(CtrlType),
    /// The fenced command's response carries another fence id.
    FenceMismatch,
    /// A field holds a value the protocol does not allow.
    BadValue,
}

/// Writes a structure in wire format (little-endian fields, `SIZE` bytes).
pub(crate) trait Encode {
    /// Size on the wire; equal to the `#[repr(C)]` size of the structure.
    const SIZE: usize;
    /// Writes the structure to `out[..SIZE]`. `out` must be at least `SIZE` bytes long.
    fn encode(&self, out: &mut [u8]);
}

/// A little-endian field writer over a byte slice.
struct Writer<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Self { out, pos: 0 }
    }

    fn bytes(&mut self, b: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.pos..self.pos + b.len()) {
            dst.copy_from_slice(b);
        }
        self.pos += b.len();
    }

    fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// A little-endian field reader over a byte slice whose length was checked beforehand.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        if let Some(src) = self.buf.get(self.pos..self.pos + N) {
            a.copy_from_slice(src);
        }
        self.pos += N;
        a
    }

    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

/// `struct virtio_gpu_ctrl_hdr`: the header of every command and response.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CtrlHdr {
    /// Command or response type ([`CtrlType`]).
    pub(crate) type_: u32,
    /// [`FLAG_FENCE`] and, with context init, the ring index flag.
    pub(crate) flags: u32,
    /// Fence id echoed in the response of a fenced command.
    pub(crate) fence_id: u64,
    /// 3D context id (0 for 2D commands).
    pub(crate) ctx_id: u32,
    /// Ring index (context init).
    pub(crate) ring_idx: u8,
    /// Padding.
    pub(crate) padding: [u8; 3],
}

impl CtrlHdr {
    /// A header for command `t` without fence.
    pub(crate) const fn new(t: CtrlType) -> Self {
        Self {
            type_: t.0,
            flags: 0,
            fence_id: 0,
            ctx_id: 0,
            ring_idx: 0,
            padding: [0; 3],
        }
    }

    fn write(&self, w: &mut Writer<'_>) {
        w.u32(self.type_);
        w.u32(self.flags);
        w.u64(self.fence_id);
        w.u32(self.ctx_id);
        w.u8(self.ring_idx);
        w.bytes(&self.padding);
    }

    fn read(r: &mut Reader<'_>) -> Self {
        Self {
            type_: r.u32(),
            flags: r.u32(),
            fence_id: r.u64(),
            ctx_id: r.u32(),
            ring_idx: r.u8(),
            padding: r.array(),
        }
    }

    /// Parses the header of a response and checks it answers a command with header `cmd`
    /// with type `expect`: length, error types, fence id.
    pub(crate) fn parse_response(
        resp: &[u8],
        cmd: &CtrlHdr,
        expect: CtrlType,
        size: usize,
    ) -> Result<CtrlHdr, ProtoError> {
        if resp.len() < size_of::<CtrlHdr>() {
            return Err(ProtoError::Short {
                got: resp.len(),
                need: size_of::<CtrlHdr>(),
            });
        }
        let hdr = CtrlHdr::read(&mut Reader::new(resp));
        let t = CtrlType(hdr.type_);
        if (0x1200..0x1300).contains(&t.0) {
            return Err(ProtoError::Device(t));
        }
        if t != expect {
            return Err(ProtoError::UnexpectedType(t));
        }
        if resp.len() < size {
            return Err(ProtoError::Short {
                got: resp.len(),
                need: size,
            });
        }
        if cmd.flags & FLAG_FENCE != 0
            && (hdr.flags & FLAG_FENCE == 0 || hdr.fence_id != cmd.fence_id)
        {
            return Err(ProtoError::FenceMismatch);
        }
        Ok(hdr)
    }
}

impl Encode for CtrlHdr {
    const SIZE: usize = size_of::<Self>();
    fn encode(&self, out: &mut [u8]) {
        self.write(&mut Writer::new(out));
    }
}

/// `struct virtio_gpu_rect`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rect {
    /// Left edge.
    pub(crate) x: u32,
    /// Top edge.
    pub(crate) y: u32,
    /// Width.
    pub(crate) width: u32,
    /// Height.
    pub(crate) height: u32,
}

impl Rect {
    fn write(&self, w: &mut Writer<'_>) {
        w.u32(self.x);
        w.u32(self.y);
        w.u32(self.width);
        w.u32(self.height);
    }

    fn read(r: &mut Reader<'_>) -> Self {
        Self {
            x: r.u32(),
            y: r.u32(),
            width: r.u32(),
            height: r.u32(),
        }
    }
}

/// Defines a command structure: header plus the listed fields, all `u32` or `u64` or
/// [`Rect`], with its [`Encode`] implementation writing them in order.
macro_rules! command {
    (
        $(#[$meta:meta])*
        $name:ident = $ctype:ident { $( $(#[$fmeta:meta])* $field:ident : $fty:tt ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub(crate) struct $name {
            /// Command header.
            pub(crate) hdr: CtrlHdr,
            $( $(#[$fmeta])* pub(crate) $field: $fty, )*
        }

        impl $name {
            /// The command type.
            pub(crate) const TYPE: CtrlType = CtrlType::$ctype;
        }

        impl Encode for $name {
            const SIZE: usize = size_of::<Self>();
            fn encode(&self, out: &mut [u8]) {
                let mut w = Writer::new(out);
                self.hdr.write(&mut w);
                $( command!(@write w, self.$field, $fty); )*
            }
        }
    };
    (@write $w:ident, $v:expr, u32) => { $w.u32($v) };
    (@write $w:ident, $v:expr, u64) => { $w.u64($v) };
    (@write $w:ident, $v:expr, Rect) => { $v.write(&mut $w) };
    (@write $w:ident, $v:expr, Box3d) => { $v.write(&mut $w) };
}

/// `struct virtio_gpu_box`: a 3D box of a resource.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Box3d {
    /// Left edge.
    pub(crate) x: u32,
    /// Top edge.
    pub(crate) y: u32,
    /// Front (first layer or slice).
    pub(crate) z: u32,
    /// Width.
    pub(crate) w: u32,
    /// Height.
    pub(crate) h: u32,
    /// Depth (layers or slices).
    pub(crate) d: u32,
}

impl Box3d {
    fn write(&self, w: &mut Writer<'_>) {
        for v in [self.x, self.y, self.z, self.w, self.h, self.d] {
            w.u32(v);
        }
    }
}

command! {
    /// `struct virtio_gpu_ctrl_hdr` alone: `GET_DISPLAY_INFO`.
    GetDisplayInfo = GET_DISPLAY_INFO {}
}

command! {
    /// `struct virtio_gpu_resource_create_2d`.
    ResourceCreate2d = RESOURCE_CREATE_2D {
        /// New resource id (nonzero, unused).
        resource_id: u32,
        /// Pixel format ([`format`]).
        format: u32,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    }
}

command! {
    /// `struct virtio_gpu_resource_unref`.
    ResourceUnref = RESOURCE_UNREF {
        /// Resource to destroy.
        resource_id: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_set_scanout`.
    SetScanout = SET_SCANOUT {
        /// Part of the resource to show.
        r: Rect,
        /// Scanout (head) index.
        scanout_id: u32,
        /// Resource to show; 0 disables the scanout.
        resource_id: u32,
    }
}

command! {
    /// `struct virtio_gpu_resource_flush`.
    ResourceFlush = RESOURCE_FLUSH {
        /// Rectangle to flush.
        r: Rect,
        /// Resource.
        resource_id: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_transfer_to_host_2d`.
    TransferToHost2d = TRANSFER_TO_HOST_2D {
        /// Rectangle to copy.
        r: Rect,
        /// Byte offset of the rectangle's first pixel in the backing memory.
        offset: u64,
        /// Resource.
        resource_id: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_resource_attach_backing`, followed on the wire by `nr_entries`
    /// [`MemEntry`]s.
    ResourceAttachBacking = RESOURCE_ATTACH_BACKING {
        /// Resource.
        resource_id: u32,
        /// Number of [`MemEntry`]s that follow.
        nr_entries: u32,
    }
}

command! {
    /// `struct virtio_gpu_resource_detach_backing`.
    ResourceDetachBacking = RESOURCE_DETACH_BACKING {
        /// Resource.
        resource_id: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_cmd_get_edid`.
    GetEdid = GET_EDID {
        /// Scanout whose EDID to get.
        scanout: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_get_capset_info`.
    GetCapsetInfo = GET_CAPSET_INFO {
        /// Index of the capset (0 to `num_capsets` - 1).
        capset_index: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_get_capset`.
    GetCapset = GET_CAPSET {
        /// Capset id (`VIRTIO_GPU_CAPSET_*`).
        capset_id: u32,
        /// Version wanted (at most the capset's `max_version`).
        capset_version: u32,
    }
}

command! {
    /// `struct virtio_gpu_ctx_destroy`.
    CtxDestroy = CTX_DESTROY {}
}

command! {
    /// `struct virtio_gpu_ctx_resource` for `CTX_ATTACH_RESOURCE`.
    CtxAttachResource = CTX_ATTACH_RESOURCE {
        /// Resource the context may use from now on.
        resource_id: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_ctx_resource` for `CTX_DETACH_RESOURCE`.
    CtxDetachResource = CTX_DETACH_RESOURCE {
        /// Resource the context may no longer use.
        resource_id: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_resource_create_3d`.
    ResourceCreate3d = RESOURCE_CREATE_3D {
        /// New resource id.
        resource_id: u32,
        /// Gallium texture target (`PIPE_BUFFER`, `PIPE_TEXTURE_2D`, ...).
        target: u32,
        /// Gallium format.
        format: u32,
        /// Bind flags (render target, sampler view, scanout, ...).
        bind: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Depth.
        depth: u32,
        /// Array size.
        array_size: u32,
        /// Last mipmap level.
        last_level: u32,
        /// Samples.
        nr_samples: u32,
        /// Flags (`VIRTIO_GPU_RESOURCE_FLAG_Y_0_TOP`).
        flags: u32,
        /// Padding.
        padding: u32,
    }
}

command! {
    /// `struct virtio_gpu_transfer_host_3d` for `TRANSFER_TO_HOST_3D`.
    TransferToHost3d = TRANSFER_TO_HOST_3D {
        /// The box to copy.
        box_: Box3d,
        /// Byte offset in the backing memory.
        offset: u64,
        /// Resource.
        resource_id: u32,
        /// Mipmap level.
        level: u32,
        /// Bytes per row in the backing memory (0: packed).
        stride: u32,
        /// Bytes per layer in the backing memory (0: packed).
        layer_stride: u32,
    }
}

command! {
    /// `struct virtio_gpu_transfer_host_3d` for `TRANSFER_FROM_HOST_3D`.
    TransferFromHost3d = TRANSFER_FROM_HOST_3D {
        /// The box to copy.
        box_: Box3d,
        /// Byte offset in the backing memory.
        offset: u64,
        /// Resource.
        resource_id: u32,
        /// Mipmap level.
        level: u32,
        /// Bytes per row in the backing memory (0: packed).
        stride: u32,
        /// Bytes per layer in the backing memory (0: packed).
        layer_stride: u32,
    }
}

command! {
    /// `struct virtio_gpu_cmd_submit`, followed on the wire by `size` bytes of commands.
    Submit3d = SUBMIT_3D {
        /// Bytes of command stream that follow.
        size: u32,
        /// Padding.
        padding: u32,
    }
}

/// Bytes of a context's debug name in `CTX_CREATE`.
pub(crate) const CTX_NAME_MAX: usize = 64;

/// `struct virtio_gpu_ctx_create`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CtxCreate {
    /// Command header (its `ctx_id` is the new context).
    pub(crate) hdr: CtrlHdr,
    /// Length of the debug name.
    pub(crate) nlen: u32,
    /// Capset id in the low byte (context init), 0 for the default (virgl).
    pub(crate) context_init: u32,
    /// Debug name, NUL-padded.
    pub(crate) debug_name: [u8; CTX_NAME_MAX],
}

impl CtxCreate {
    /// The command type.
    pub(crate) const TYPE: CtrlType = CtrlType::CTX_CREATE;

    /// `CTX_CREATE` of context `ctx_id` for capset `capset_id` (0: the default), named
    /// `name` (cut to the 63 bytes that fit before a NUL; `nlen` is the length sent).
    pub(crate) fn new(ctx_id: u32, capset_id: u32, name: &[u8]) -> Self {
        let mut debug_name = [0u8; CTX_NAME_MAX];
        let n = name.len().min(CTX_NAME_MAX - 1);
        debug_name[..n].copy_from_slice(&name[..n]);
        let mut hdr = CtrlHdr::new(Self::TYPE);
        hdr.ctx_id = ctx_id;
        Self {
            hdr,
            nlen: n as u32,
            context_init: capset_id,
            debug_name,
        }
    }
}

impl Encode for CtxCreate {
    const SIZE: usize = size_of::<Self>();
    fn encode(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        self.hdr.write(&mut w);
        w.u32(self.nlen);
        w.u32(self.context_init);
        w.bytes(&self.debug_name);
    }
}

/// `struct virtio_gpu_resp_capset_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RespCapsetInfo {
    /// Response header.
    pub(crate) hdr: CtrlHdr,
    /// Capset id (1 to 63).
    pub(crate) capset_id: u32,
    /// Highest version the host offers.
    pub(crate) capset_max_version: u32,
    /// Size of the capset data, in bytes.
    pub(crate) capset_max_size: u32,
    /// Padding.
    pub(crate) padding: u32,
}

/// Largest capset size the driver accepts from the device (QEMU's VIRGL2 is 1376 bytes).
pub(crate) const CAPSET_MAX_SIZE: u32 = 64 * 1024;

impl RespCapsetInfo {
    /// Size on the wire.
    pub(crate) const SIZE: usize = size_of::<Self>();

    /// Parses and validates the response to `cmd` (a `GET_CAPSET_INFO`): the id must be a
    /// valid capset id (1 to 63, as the C driver requires) and the size at most
    /// [`CAPSET_MAX_SIZE`].
    pub(crate) fn parse(resp: &[u8], cmd: &CtrlHdr) -> Result<Self, ProtoError> {
        let hdr = CtrlHdr::parse_response(resp, cmd, CtrlType::RESP_OK_CAPSET_INFO, Self::SIZE)?;
        let mut r = Reader::new(resp);
        r.pos = size_of::<CtrlHdr>();
        let info = Self {
            hdr,
            capset_id: r.u32(),
            capset_max_version: r.u32(),
            capset_max_size: r.u32(),
            padding: r.u32(),
        };
        if info.capset_id == 0 || info.capset_id > 63 || info.capset_max_size > CAPSET_MAX_SIZE {
            return Err(ProtoError::BadValue);
        }
        Ok(info)
    }
}

/// Checks the response to `cmd` (a `GET_CAPSET` of a capset of `size` bytes) and returns the
/// capset data.
pub(crate) fn parse_capset<'a>(
    resp: &'a [u8],
    cmd: &CtrlHdr,
    size: usize,
) -> Result<&'a [u8], ProtoError> {
    let need = size_of::<CtrlHdr>()
        .checked_add(size)
        .ok_or(ProtoError::BadValue)?;
    CtrlHdr::parse_response(resp, cmd, CtrlType::RESP_OK_CAPSET, need)?;
    resp.get(size_of::<CtrlHdr>()..need)
        .ok_or(ProtoError::Short {
            got: resp.len(),
            need,
        })
}

/// Encodes `SUBMIT_3D` for context `ctx_id` with the command stream `cmds` into `out`, which
/// must hold [`submit_3d_size`]`(cmds.len())` bytes; `hdr` gives the fence fields.
pub(crate) fn encode_submit_3d(
    hdr: CtrlHdr,
    cmds: &[u8],
    out: &mut [u8],
) -> Result<(), ProtoError> {
    let size = u32::try_from(cmds.len()).map_err(|_| ProtoError::BadValue)?;
    let total = submit_3d_size(cmds.len()).ok_or(ProtoError::BadValue)?;
    let out = out.get_mut(..total).ok_or(ProtoError::BadValue)?;
    let cmd = Submit3d {
        hdr,
        size,
        padding: 0,
    };
    cmd.encode(out);
    out.get_mut(Submit3d::SIZE..)
        .ok_or(ProtoError::BadValue)?
        .copy_from_slice(cmds);
    Ok(())
}

/// Wire size of a `SUBMIT_3D` with `n` bytes of commands, `None` on overflow.
pub(crate) fn submit_3d_size(n: usize) -> Option<usize> {
    n.checked_add(Submit3d::SIZE)
}

/// `struct virtio_gpu_mem_entry`: one guest memory range of a resource's backing.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemEntry {
    /// Guest physical (or DMA) address.
    pub(crate) addr: u64,
    /// Length in bytes.
    pub(crate) length: u32,
    /// Padding.
    pub(crate) padding: u32,
}

impl Encode for MemEntry {
    const SIZE: usize = size_of::<Self>();
    fn encode(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.u64(self.addr);
        w.u32(self.length);
        w.u32(self.padding);
    }
}

/// `struct virtio_gpu_cursor_pos`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CursorPos {
    /// Scanout the cursor is on.
    pub(crate) scanout_id: u32,
    /// X position of the hotspot.
    pub(crate) x: u32,
    /// Y position of the hotspot.
    pub(crate) y: u32,
    /// Padding.
    pub(crate) padding: u32,
}

/// `struct virtio_gpu_update_cursor`: `UPDATE_CURSOR` and `MOVE_CURSOR` on the cursor queue.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct UpdateCursor {
    /// Header: `UPDATE_CURSOR` or `MOVE_CURSOR`.
    pub(crate) hdr: CtrlHdr,
    /// Position.
    pub(crate) pos: CursorPos,
    /// Cursor image resource (64x64 ARGB), 0 hides the cursor.
    pub(crate) resource_id: u32,
    /// Hotspot x within the image.
    pub(crate) hot_x: u32,
    /// Hotspot y within the image.
    pub(crate) hot_y: u32,
    /// Padding.
    pub(crate) padding: u32,
}

impl Encode for UpdateCursor {
    const SIZE: usize = size_of::<Self>();
    fn encode(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        self.hdr.write(&mut w);
        w.u32(self.pos.scanout_id);
        w.u32(self.pos.x);
        w.u32(self.pos.y);
        w.u32(self.pos.padding);
        w.u32(self.resource_id);
        w.u32(self.hot_x);
        w.u32(self.hot_y);
        w.u32(self.padding);
    }
}

/// The largest number of scanouts (`VIRTIO_GPU_MAX_SCANOUTS`).
pub(crate) const MAX_SCANOUTS: usize = 16;

/// One scanout in `struct virtio_gpu_resp_display_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DisplayOne {
    /// Preferred position and size.
    pub(crate) r: Rect,
    /// Nonzero if the scanout is enabled (a display is connected).
    pub(crate) enabled: u32,
    /// Flags (none defined).
    pub(crate) flags: u32,
}

/// `struct virtio_gpu_resp_display_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RespDisplayInfo {
    /// Response header.
    pub(crate) hdr: CtrlHdr,
    /// One entry per possible scanout.
    pub(crate) pmodes: [DisplayOne; MAX_SCANOUTS],
}

impl RespDisplayInfo {
    /// Size on the wire.
    pub(crate) const SIZE: usize = size_of::<Self>();

    /// Parses and validates the response to `cmd` (a `GET_DISPLAY_INFO`).
    pub(crate) fn parse(resp: &[u8], cmd: &CtrlHdr) -> Result<Self, ProtoError> {
        let hdr = CtrlHdr::parse_response(resp, cmd, CtrlType::RESP_OK_DISPLAY_INFO, Self::SIZE)?;
        let mut r = Reader::new(resp);
        r.pos = size_of::<CtrlHdr>();
        let mut pmodes = [DisplayOne::default(); MAX_SCANOUTS];
        for p in pmodes.iter_mut() {
            *p = DisplayOne {
                r: Rect::read(&mut r),
                enabled: r.u32(),
                flags: r.u32(),
            };
        }
        Ok(Self { hdr, pmodes })
    }
}

/// Size of the EDID buffer in `struct virtio_gpu_resp_edid`.
pub(crate) const EDID_MAX: usize = 1024;

/// `struct virtio_gpu_resp_edid`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RespEdid {
    /// Response header.
    pub(crate) hdr: CtrlHdr,
    /// Bytes of `edid` that are valid.
    pub(crate) size: u32,
    /// Padding.
    pub(crate) padding: u32,
    /// The EDID blob.
    pub(crate) edid: [u8; EDID_MAX],
}

impl RespEdid {
    /// Size on the wire.
    pub(crate) const SIZE: usize = size_of::<Self>();

    /// Parses and validates the response to `cmd` (a `GET_EDID`): `size` must fit the buffer
    /// and be a whole number of 128-byte EDID blocks.
    pub(crate) fn parse(resp: &[u8], cmd: &CtrlHdr) -> Result<Self, ProtoError> {
        let hdr = CtrlHdr::parse_response(resp, cmd, CtrlType::RESP_OK_EDID, Self::SIZE)?;
        let mut r = Reader::new(resp);
        r.pos = size_of::<CtrlHdr>();
        let size = r.u32();
        let padding = r.u32();
        let edid = r.array::<EDID_MAX>();
        if size as usize > EDID_MAX || size % 128 != 0 {
            return Err(ProtoError::BadValue);
        }
        Ok(Self {
            hdr,
            size,
            padding,
            edid,
        })
    }

    /// The valid EDID bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.edid.get(..self.size as usize).unwrap_or(&[])
    }
}

/// The header of a response, if it is long enough to have one (for the fence id of an answer
/// nobody waited for; the type and fence checks are [`CtrlHdr::parse_response`]'s).
pub(crate) fn response_header(resp: &[u8]) -> Option<CtrlHdr> {
    if resp.len() < size_of::<CtrlHdr>() {
        return None;
    }
    Some(CtrlHdr::read(&mut Reader::new(resp)))
}

/// Checks a response that carries no data (`RESP_OK_NODATA`) for command `cmd`.
pub(crate) fn parse_nodata(resp: &[u8], cmd: &CtrlHdr) -> Result<(), ProtoError> {
    CtrlHdr::parse_response(resp, cmd, CtrlType::RESP_OK_NODATA, size_of::<CtrlHdr>()).map(|_| ())
}

/// Checks the answer `resp` to the encoded command `cmd` (both as raw bytes, as a queue hands
/// them back for a command nobody waited for): `RESP_OK_NODATA` for that command's header.
/// Returns the command's type with the verdict, for the log.
pub(crate) fn check_nodata_reply(cmd: &[u8], resp: &[u8]) -> (u32, Result<(), ProtoError>) {
    if cmd.len() < size_of::<CtrlHdr>() {
        let e = ProtoError::Short {
            got: cmd.len(),
            need: size_of::<CtrlHdr>(),
        };
        return (0, Err(e));
    }
    let hdr = CtrlHdr::read(&mut Reader::new(cmd));
    (hdr.type_, parse_nodata(resp, &hdr))
}

/// Encodes `RESOURCE_ATTACH_BACKING` with its entries into `out`, which must hold
/// [`attach_backing_size`]`(entries.len())` bytes.
pub(crate) fn encode_attach_backing(
    resource_id: u32,
    entries: impl ExactSizeIterator<Item = MemEntry>,
    out: &mut [u8],
) -> Result<(), ProtoError> {
    let n = u32::try_from(entries.len()).map_err(|_| ProtoError::BadValue)?;
    if out.len() < attach_backing_size(entries.len()).ok_or(ProtoError::BadValue)? {
        return Err(ProtoError::BadValue);
    }
    let cmd = ResourceAttachBacking {
        hdr: CtrlHdr::new(ResourceAttachBacking::TYPE),
        resource_id,
        nr_entries: n,
    };
    cmd.encode(out);
    let mut off = ResourceAttachBacking::SIZE;
    for e in entries {
        let dst = out
            .get_mut(off..off + MemEntry::SIZE)
            .ok_or(ProtoError::BadValue)?;
        e.encode(dst);
        off += MemEntry::SIZE;
    }
    Ok(())
}

/// Wire size of an attach-backing command with `n` entries, `None` on overflow.
pub(crate) fn attach_backing_size(n: usize) -> Option<usize> {
    n.checked_mul(MemEntry::SIZE)?
        .checked_add(ResourceAttachBacking::SIZE)
}
