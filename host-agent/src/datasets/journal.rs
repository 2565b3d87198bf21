//! The journal of a transfer: which pieces of the partial copy are written and verified, so a
//! resumed transfer fetches only the rest.
//!
//! A piece is recorded right after it was verified and written (not synced). If only the agent
//! died, the page cache still holds what it wrote, so the journal can be trusted as it is; if
//! the machine went down, writes may be lost in any order. The header therefore names the boot
//! it was written in ([`super::fsx::boot_id`]): a journal from another boot is only a list of
//! candidates, each re-hashed before it counts.
//!
//! Format: one header line `maison-journal 1 <boot id>\n`, then 8-byte records (file index and
//! chunk index, little endian; [`WHOLE_FILE`] for a whole file). A torn last record is ignored.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

/// Chunk index meaning "the whole file" (small files, links, empty files).
pub const WHOLE_FILE: u32 = u32::MAX;

const MAGIC: &str = "maison-journal 1 ";

/// One verified piece: (file index in the manifest, chunk index or [`WHOLE_FILE`]).
pub type Piece = (u32, u32);

#[derive(Debug)]
pub struct Journal {
    file: Mutex<File>,
}

/// What an existing journal says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub boot_id: String,
    pub pieces: Vec<Piece>,
}

impl Journal {
    /// Starts a journal holding `pieces` (replacing any previous one).
    pub fn create(path: &Path, boot_id: &str, pieces: &[Piece]) -> io::Result<Journal> {
        let tmp = path.with_extension("journal.tmp");
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            let mut bytes = format!("{MAGIC}{boot_id}\n").into_bytes();
            for p in pieces {
                bytes.extend_from_slice(&encode(*p));
            }
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Journal {
            file: Mutex::new(file),
        })
    }

    /// Reads a journal; `None` when there is none (or it is not one).
    pub fn read(path: &Path) -> io::Result<Option<Recorded>> {
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(mut f) => f.read_to_end(&mut bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        let Some(boot_id) = std::str::from_utf8(&bytes[..newline])
            .ok()
            .and_then(|h| h.strip_prefix(MAGIC))
        else {
            return Ok(None);
        };
        let pieces = bytes[newline + 1..]
            .chunks_exact(8)
            .map(|r| {
                (
                    u32::from_le_bytes([r[0], r[1], r[2], r[3]]),
                    u32::from_le_bytes([r[4], r[5], r[6], r[7]]),
                )
            })
            .collect();
        Ok(Some(Recorded {
            boot_id: boot_id.to_string(),
            pieces,
        }))
    }

    /// Appends verified pieces (one write, so a kill never tears a record in two).
    pub fn record(&self, pieces: &[Piece]) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(pieces.len() * 8);
        for p in pieces {
            bytes.extend_from_slice(&encode(*p));
        }
        self.file.lock().unwrap().write_all(&bytes)
    }
}

fn encode((file, chunk): Piece) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&file.to_le_bytes());
    out[4..].copy_from_slice(&chunk.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_and_a_torn_tail_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.journal");
        assert_eq!(Journal::read(&path).unwrap(), None);
        let j = Journal::create(&path, "boot-1", &[(0, WHOLE_FILE)]).unwrap();
        j.record(&[(1, 0), (1, 2)]).unwrap();
        drop(j);
        // Half a record, as a crash mid-write could leave.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[7, 0, 0]).unwrap();
        let r = Journal::read(&path).unwrap().unwrap();
        assert_eq!(r.boot_id, "boot-1");
        assert_eq!(r.pieces, vec![(0, WHOLE_FILE), (1, 0), (1, 2)]);
        std::fs::write(&path, b"something else\n").unwrap();
        assert_eq!(Journal::read(&path).unwrap(), None);
    }
}
