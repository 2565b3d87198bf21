//! The least work any copy of the large dataset does on this machine while keeping what the
//! design asks of a copy: the source reads the files, they travel through the agents' own
//! mutual TLS (the same rustls configurations, AES-128-GCM) over loopback, and the destination
//! hashes every byte with BLAKE3. Nothing else: no HTTP, no async runtime, no ranges, no disk
//! write. Its CPU time, spread perfectly over the machine's CPUs, is the shortest time such a
//! copy could take here, which says how close to `cp -a` any implementation can come.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};

/// Size of each read and write, as the source serves pieces.
const PIECE: usize = 256 << 10;

/// Machine CPU seconds of each part of the least work.
pub struct Floor {
    pub bytes: u64,
    pub read: f64,
    pub tls: f64,
    pub hash: f64,
}

impl Floor {
    pub fn cpu(&self) -> f64 {
        self.read + self.tls + self.hash
    }
}

/// Measures the three parts one after the other, with `cpu_secs` (the machine's CPU time so
/// far) around each. Blocking: call it from a blocking thread while nothing else runs.
pub fn measure(
    files: &[PathBuf],
    server: ServerConfig,
    client: ClientConfig,
    cpu_secs: fn() -> f64,
) -> anyhow::Result<Floor> {
    let mut buf = vec![0u8; PIECE];
    let start = cpu_secs();
    let mut bytes = 0u64;
    for path in files {
        let mut file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
        }
    }
    let read = cpu_secs() - start;

    let start = cpu_secs();
    let sent = through_tls(bytes, server, client)?;
    anyhow::ensure!(sent == bytes, "TLS carried {sent} of {bytes} bytes");
    let tls = cpu_secs() - start;

    // Chunks of the manifest's size, from memory: the hash's own cost.
    let chunk = vec![0x5au8; maison_agent_api::datasets::CHUNK_SIZE as usize];
    let start = cpu_secs();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        std::hint::black_box(blake3::hash(&chunk[..n]));
        left -= n as u64;
    }
    let hash = cpu_secs() - start;
    Ok(Floor {
        bytes,
        read,
        tls,
        hash,
    })
}

/// Sends `bytes` from a server thread to this thread over one mutual-TLS connection on
/// loopback; returns what arrived. Each side moves many records per system call (all pending
/// records in one vectored write; reads through a large buffer), as the agents' async streams
/// do, so that system calls per 16 KiB record do not count as the cost of TLS.
fn through_tls(bytes: u64, server: ServerConfig, client: ClientConfig) -> anyhow::Result<u64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let sender = std::thread::spawn(move || -> anyhow::Result<()> {
        let (mut tcp, _) = listener.accept()?;
        let mut conn = ServerConnection::new(Arc::new(server))?;
        // A whole piece is encrypted at once, then written out.
        conn.set_buffer_limit(None);
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)?;
        }
        let piece = vec![0xa5u8; PIECE];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(PIECE as u64) as usize;
            conn.writer().write_all(&piece[..n])?;
            left -= n as u64;
            while conn.wants_write() {
                conn.write_tls(&mut tcp)?;
            }
        }
        conn.send_close_notify();
        while conn.wants_write() {
            conn.write_tls(&mut tcp)?;
        }
        Ok(())
    });
    let mut conn = ClientConnection::new(Arc::new(client), ServerName::try_from("127.0.0.1")?)?;
    let mut tcp = TcpStream::connect(addr)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    let mut wire = std::io::BufReader::with_capacity(4 * PIECE, tcp);
    let mut buf = vec![0u8; PIECE];
    let mut got = 0u64;
    'outer: loop {
        if conn.read_tls(&mut wire)? == 0 {
            break;
        }
        let state = conn.process_new_packets()?;
        loop {
            match conn.reader().read(&mut buf) {
                Ok(0) => break 'outer,
                Ok(n) => got += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        if state.peer_has_closed() {
            break;
        }
    }
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("the TLS sender panicked"))??;
    Ok(got)
}
