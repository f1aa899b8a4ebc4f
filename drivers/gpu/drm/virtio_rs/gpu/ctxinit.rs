// SPDX-License-Identifier: GPL-2.0

//! `VIRTGPU_CONTEXT_INIT`: the parameters a file sets on its 3D context before first use
//! (context type by capset id, rings, which rings signal fence events, a debug name), checked
//! with the 6.12 C driver's rules and errnos.
//!
//! One difference on purpose: the C driver writes each parameter into the file as it goes, so
//! a request that fails half way leaves the earlier ones set (and a retry may then fail for
//! "already set"). Here the parameters are checked first and set only if all are good.
//!
//! Pure `core` code: also built by the host tests.

#![forbid(unsafe_code)]

/// `VIRTGPU_CONTEXT_PARAM_CAPSET_ID`: the context type.
pub(crate) const PARAM_CAPSET_ID: u64 = 1;
/// `VIRTGPU_CONTEXT_PARAM_NUM_RINGS`: how many rings (fence timelines) the context has.
pub(crate) const PARAM_NUM_RINGS: u64 = 2;
/// `VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK`: rings whose fences send a DRM event when they
/// signal.
pub(crate) const PARAM_POLL_RINGS_MASK: u64 = 3;
/// `VIRTGPU_CONTEXT_PARAM_DEBUG_NAME`: a user pointer to the context's name.
pub(crate) const PARAM_DEBUG_NAME: u64 = 4;

/// Most parameters one request may carry (the C driver's "unique parameters").
pub(crate) const MAX_PARAMS: u32 = 4;
/// Highest capset id (`MAX_CAPSET_ID`).
pub(crate) const MAX_CAPSET_ID: u64 = 63;
/// Most rings a context may have (`MAX_RINGS`).
pub(crate) const MAX_RINGS: u64 = 64;
/// Bytes of a debug name kept, the terminating zero included (`DEBUG_NAME_MAX_LEN`).
pub(crate) const DEBUG_NAME_MAX_LEN: usize = 64;
/// The bits of `virtio_gpu_ctx_create.context_init` that carry the capset id.
pub(crate) const CONTEXT_INIT_CAPSET_ID_MASK: u32 = 0xff;

/// Why a request is refused; each maps to one errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InitError {
    /// `EINVAL`.
    Invalid,
    /// `EFAULT`: the debug name could not be read.
    Fault,
}

/// What a request sets. `num_rings` is `None` until a request names it (a context without
/// rings has no ring index to submit to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ContextParams {
    /// The capset id (context type); 0: the default, virgl.
    pub(crate) capset_id: u32,
    /// The number of rings, if set.
    pub(crate) num_rings: Option<u32>,
    /// Rings whose fences send an event.
    pub(crate) poll_rings_mask: u64,
    /// The debug name (zero-terminated, at most 63 bytes before the zero), if set.
    pub(crate) debug_name: Option<[u8; DEBUG_NAME_MAX_LEN]>,
}

impl ContextParams {
    /// The `context_init` field of the context's `CTX_CREATE`.
    pub(crate) fn context_init(&self) -> u32 {
        self.capset_id & CONTEXT_INIT_CAPSET_ID_MASK
    }

    /// The name bytes before the zero, if a name was set.
    pub(crate) fn name(&self) -> Option<&[u8]> {
        let n = self.debug_name.as_ref()?;
        let len = n.iter().position(|&b| b == 0).unwrap_or(n.len());
        n.get(..len)
    }
}

/// Checks the `(param, value)` pairs of one request, in order, as the C driver does: the
/// capset id must be at most 63, offered by the host (`capset_mask`) and given once; the ring
/// count at most 64 and given once; the poll mask given once (a zero mask counts as not given)
/// and naming only existing rings; the debug name given once and read with `read_name`
/// (at most 63 bytes; its failure is `Fault`); any other parameter is invalid. The first
/// error wins.
pub(crate) fn parse(
    params: &[(u64, u64)],
    capset_mask: u64,
    mut read_name: impl FnMut(u64) -> Option<[u8; DEBUG_NAME_MAX_LEN]>,
) -> Result<ContextParams, InitError> {
    let mut p = ContextParams::default();
    for &(param, value) in params {
        match param {
            PARAM_CAPSET_ID => {
                if value > MAX_CAPSET_ID
                    || capset_mask & (1u64 << value) == 0
                    || p.context_init() != 0
                {
                    return Err(InitError::Invalid);
                }
                p.capset_id = value as u32;
            }
            PARAM_NUM_RINGS => {
                if p.num_rings.is_some() || value > MAX_RINGS {
                    return Err(InitError::Invalid);
                }
                p.num_rings = Some(value as u32);
            }
            PARAM_POLL_RINGS_MASK => {
                if p.poll_rings_mask != 0 {
                    return Err(InitError::Invalid);
                }
                p.poll_rings_mask = value;
            }
            PARAM_DEBUG_NAME => {
                if p.debug_name.is_some() {
                    return Err(InitError::Invalid);
                }
                p.debug_name = Some(read_name(value).ok_or(InitError::Fault)?);
            }
            _ => return Err(InitError::Invalid),
        }
    }
    if p.poll_rings_mask != 0 {
        let rings = p.num_rings.unwrap_or(0);
        let valid = if rings >= 64 {
            u64::MAX
        } else {
            (1u64 << rings) - 1
        };
        if p.poll_rings_mask & !valid != 0 {
            return Err(InitError::Invalid);
        }
    }
    Ok(p)
}

/// The ring a submission names: `ring_idx` must be below the context's ring count (a context
/// without rings has none): `None` (`EINVAL`) otherwise.
pub(crate) fn check_ring(params: &ContextParams, ring_idx: u32) -> Option<u32> {
    let rings = params.num_rings?;
    (ring_idx < rings).then_some(ring_idx)
}
