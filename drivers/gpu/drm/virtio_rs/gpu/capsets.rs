// SPDX-License-Identifier: GPL-2.0

//! Capability sets: what the host said about them at probe (`GET_CAPSET_INFO`), and the rules
//! of `VIRTGPU_GET_CAPS` (which capset answers a request, how much of it is copied), as the
//! 6.12 C driver has them.
//!
//! Pure `core` code: also built by the host tests.

#![forbid(unsafe_code)]

/// One capset the host offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CapsetInfo {
    /// Capset id (1 to 63).
    pub(crate) id: u32,
    /// Highest version the host offers.
    pub(crate) max_version: u32,
    /// Size of the capset data in bytes.
    pub(crate) max_size: u32,
}

/// Why `VIRTGPU_GET_CAPS` fails before asking the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CapsError {
    /// The host offers no capsets (`ENOSYS`).
    NoCapsets,
    /// A size of 0, or no capset with this id offering this version (`EINVAL`).
    Invalid,
}

/// The capset that answers a request for capset `id` at version `version` of `size` bytes,
/// and how many bytes of it are copied to userspace (the request's size, at most the
/// capset's). Checks in the C driver's order: no capsets, then a zero size, then the match
/// (`max_version >= version`).
pub(crate) fn lookup(
    infos: &[CapsetInfo],
    id: u32,
    version: u32,
    size: u32,
) -> Result<(CapsetInfo, usize), CapsError> {
    if infos.is_empty() {
        return Err(CapsError::NoCapsets);
    }
    if size == 0 {
        return Err(CapsError::Invalid);
    }
    let info = infos
        .iter()
        .find(|i| i.id == id && i.max_version >= version)
        .ok_or(CapsError::Invalid)?;
    Ok((*info, size.min(info.max_size) as usize))
}

/// The mask of capset ids for `VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs` (bit `id` per capset).
pub(crate) fn id_mask(infos: &[CapsetInfo]) -> u64 {
    infos
        .iter()
        .filter(|i| i.id < 64)
        .fold(0, |m, i| m | (1u64 << i.id))
}
