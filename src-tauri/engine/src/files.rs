//! Reading input files with bounds: only regular files (a symlink to one is fine), never more than
//! a stated number of bytes. `/dev/zero`, a FIFO or a directory is refused in words instead of
//! being read until memory runs out or forever.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Reads `path` whole when it is a regular file of at most `limit` bytes. `what` names the file
/// in errors ("TICKETS.md file", "workload").
pub fn read_regular(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, String> {
    open_regular(path, what, limit).map(|(_, bytes)| bytes)
}

/// Like [`read_regular`], and keeps the file open: the returned handle is the file that was read,
/// even if the name is given to another file afterwards (a writer uses it to see whether the file
/// it read changed since). A FIFO swapped in after the check does not block the open.
pub fn open_regular(
    path: &Path,
    what: &str,
    limit: u64,
) -> Result<(std::fs::File, Vec<u8>), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    check_regular(&meta, path, what, limit)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let bytes = reread(&file, path, what, limit)?;
    Ok((file, bytes))
}

/// Reads an open file whole, from its start, when it is a regular file of at most `limit` bytes
/// (`path` only names it in errors).
pub fn reread(
    file: &std::fs::File,
    path: &Path,
    what: &str,
    limit: u64,
) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let meta = file
        .metadata()
        .map_err(|e| format!("{shown}: cannot read: {e}"))?;
    check_regular(&meta, path, what, limit)?;
    let mut reader = file;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{shown}: cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        // it grew after its size was read
        return Err(format!(
            "{shown}: {}",
            too_large(what, bytes.len() as u64, limit)
        ));
    }
    Ok(bytes)
}

fn check_regular(
    meta: &std::fs::Metadata,
    path: &Path,
    what: &str,
    limit: u64,
) -> Result<(), String> {
    let shown = path.display();
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a device, FIFO or socket)"
        };
        return Err(format!("{shown}: is {kind}, not a {what}"));
    }
    if meta.len() > limit {
        return Err(format!("{shown}: {}", too_large(what, meta.len(), limit)));
    }
    Ok(())
}

/// Reads at most `limit` bytes of a stream (standard input); more is an error in words.
pub fn read_bounded(mut input: impl Read, what: &str, limit: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    input
        .by_ref()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{what} is too large: more than {}; Leapfrog reads up to {}",
            size_in_words(limit),
            size_in_words(limit)
        ));
    }
    Ok(bytes)
}

/// `"too large: 17.2 MB; Leapfrog reads TICKETS.md files up to 4 MB"` (the caller names the
/// file first). `size` is what was seen: for a file that grew while read, what was read.
pub fn too_large(what: &str, size: u64, limit: u64) -> String {
    let (mut size_words, mut limit_words) = (size_in_words(size), size_in_words(limit));
    if size_words == limit_words {
        // 4 000 001 bytes would read "4 MB; … up to 4 MB".
        size_words = format!("{size} bytes");
        limit_words = format!("{limit_words} ({limit} bytes)");
    }
    format!("too large: {size_words}; Leapfrog reads {what}s up to {limit_words}")
}

/// A size for people: `512 bytes`, `64.5 KB`, `17.2 MB`, `4 MB` (1 MB = 1 000 000 bytes).
pub fn size_in_words(bytes: u64) -> String {
    let scaled = |unit: f64, name: &str| {
        let x = format!("{:.1}", bytes as f64 / unit);
        format!("{} {name}", x.strip_suffix(".0").unwrap_or(&x))
    };
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => scaled(1e3, "KB"),
        1_000_000..1_000_000_000 => scaled(1e6, "MB"),
        _ => scaled(1e9, "GB"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_limits_in_words() {
        let cases: [(u64, &str); 7] = [
            (0, "0 bytes"),
            (999, "999 bytes"),
            (1_000, "1 KB"),
            (64_512, "64.5 KB"),
            (4_000_000, "4 MB"),
            (17_234_567, "17.2 MB"),
            (2_500_000_000, "2.5 GB"),
        ];
        for (bytes, words) in cases {
            assert_eq!(size_in_words(bytes), words);
        }
        assert_eq!(
            too_large("TICKETS.md file", 17_234_567, 4_000_000),
            "too large: 17.2 MB; Leapfrog reads TICKETS.md files up to 4 MB"
        );
        assert_eq!(
            too_large("TICKETS.md file", 4_000_001, 4_000_000),
            "too large: 4000001 bytes; Leapfrog reads TICKETS.md files up to 4 MB (4000000 bytes)"
        );
    }
}
