// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `gpu/protocol.rs`: arbitrary device bytes through every response parser, and
//! arbitrary entries and buffer sizes through the attach-backing encoder.
//!
//! Input: byte 0 chooses the command header (fenced or not), bytes 1..9 its fence id, the rest
//! is the response as the device would have written it. The parsers must never panic, and
//! whatever they accept must satisfy the checks they promise.

#![no_main]

#[path = "../../../../drivers/gpu/drm/virtio_rs/gpu/protocol.rs"]
#[allow(dead_code, clippy::manual_is_multiple_of)]
mod protocol;

use libfuzzer_sys::fuzz_target;
use protocol::*;

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let (sel, rest) = data.split_first().unwrap_or((&0, &[]));
    let (fence, resp) = if rest.len() >= 8 {
        let (f, r) = rest.split_at(8);
        (u64::from_le_bytes(f.try_into().unwrap()), r)
    } else {
        (0, rest)
    };
    let mut cmd = CtrlHdr::new(CtrlType::GET_DISPLAY_INFO);
    if sel & 1 != 0 {
        cmd.flags = FLAG_FENCE;
        cmd.fence_id = fence;
    }

    let fence_ok = |b: &[u8]| {
        cmd.flags & FLAG_FENCE == 0
            || (u32_at(b, 4) & FLAG_FENCE != 0 && b[8..16] == cmd.fence_id.to_le_bytes())
    };

    if parse_nodata(resp, &cmd).is_ok() {
        assert!(resp.len() >= CtrlHdr::SIZE);
        assert_eq!(u32_at(resp, 0), CtrlType::RESP_OK_NODATA.0);
        assert!(fence_ok(resp));
    }

    if let Ok(d) = RespDisplayInfo::parse(resp, &cmd) {
        assert!(resp.len() >= RespDisplayInfo::SIZE);
        assert_eq!(d.hdr.type_, CtrlType::RESP_OK_DISPLAY_INFO.0);
        assert!(fence_ok(resp));
        for (i, p) in d.pmodes.iter().enumerate() {
            assert_eq!(p.r.x, u32_at(resp, 24 + 24 * i));
            assert_eq!(p.flags, u32_at(resp, 24 + 24 * i + 20));
        }
    }

    if let Ok(e) = RespEdid::parse(resp, &cmd) {
        assert!(resp.len() >= RespEdid::SIZE);
        assert_eq!(e.hdr.type_, CtrlType::RESP_OK_EDID.0);
        assert!(fence_ok(resp));
        assert!(e.size as usize <= EDID_MAX && e.size % 128 == 0);
        assert_eq!(e.bytes(), &resp[32..32 + e.size as usize]);
    }

    // Any expected type and size taken from the input itself.
    let expect = CtrlType(u32::from(*sel) << 4 | 0x1100);
    let size = usize::from(*sel) * 5;
    if let Ok(h) = CtrlHdr::parse_response(resp, &cmd, expect, size) {
        assert!(resp.len() >= size.max(CtrlHdr::SIZE));
        assert_eq!(h.type_, expect.0);
    }

    // The same bytes as attach-backing entries, into a buffer whose size the input picks.
    let entries: Vec<MemEntry> = resp
        .chunks_exact(12)
        .map(|c| MemEntry {
            addr: u64::from_le_bytes(c[..8].try_into().unwrap()),
            length: u32_at(c, 8),
            padding: 0,
        })
        .collect();
    let need = attach_backing_size(entries.len()).unwrap();
    let len = (need + 16).saturating_sub(usize::from(*sel) % 32);
    let mut out = vec![0xa5; len];
    let r = encode_attach_backing(fence as u32, entries.iter().copied(), &mut out);
    assert_eq!(r.is_ok(), len >= need);
    if r.is_ok() {
        assert_eq!(u32_at(&out, 0), CtrlType::RESOURCE_ATTACH_BACKING.0);
        assert_eq!(u32_at(&out, 28) as usize, entries.len());
        assert!(out[need..].iter().all(|&b| b == 0xa5));
    } else {
        assert!(out.iter().all(|&b| b == 0xa5));
    }
});
