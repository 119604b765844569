//! stderr, written in batches by a thread of its own.
//!
//! Under load `patchbay serve` logs a line per request. Written in place, each
//! line is a `write` to stderr on the request's thread; queued one by one for
//! a writer thread, each line still wakes that thread and costs it a `write`.
//! Here a line is appended to a shared buffer; the first line into an empty
//! buffer wakes the writer, which waits [`GATHER`] for more and writes them
//! all at once. A request pays for a short lock, and the machine for one wake
//! and one `write` per batch however many lines it holds.
//!
//! No line is ever dropped: a buffer over [`BACKLOG`] makes loggers wait for
//! the writer (back-pressure), and the guard writes what is left when the
//! command ends.

use std::io::Write as _;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer gathers lines after the first one arrives.
const GATHER: Duration = Duration::from_millis(5);
/// The most bytes buffered before loggers wait for the writer.
const BACKLOG: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
struct Pending {
    lines: Vec<u8>,
    stopping: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// A first line arrived, or the command is ending.
    arrived: Condvar,
    /// The writer took the buffer.
    drained: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the subscriber writes its lines to.
#[derive(Debug)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
}

/// Writes what is left and stops the writer when dropped: hold it until the
/// command ends.
#[derive(Debug)]
pub struct WriterGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread.
pub fn batched_stderr() -> (BatchedStderr, WriterGuard) {
    let shared = Arc::new(Shared::default());
    let thread = std::thread::Builder::new()
        .name("patchbay-log".into())
        .spawn({
            let shared = Arc::clone(&shared);
            move || write_batches(&shared)
        })
        // Without a thread there is nowhere to log; nothing would run either.
        .expect("starting the log writer thread");
    (
        BatchedStderr {
            shared: Arc::clone(&shared),
        },
        WriterGuard {
            shared,
            thread: Some(thread),
        },
    )
}

fn write_batches(shared: &Shared) {
    let mut batch = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.lines.is_empty() && !pending.stopping {
            pending = shared
                .arrived
                .wait(pending)
                .unwrap_or_else(|p| p.into_inner());
        }
        if pending.lines.is_empty() {
            return;
        }
        if !pending.stopping {
            drop(pending);
            std::thread::sleep(GATHER);
            pending = shared.lock();
        }
        std::mem::swap(&mut batch, &mut pending.lines);
        drop(pending);
        shared.drained.notify_all();
        // Where stderr has gone there is no one to tell.
        let _ = std::io::stderr().lock().write_all(&batch);
        batch.clear();
    }
}

impl std::io::Write for &BatchedStderr {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.shared.lock();
        while pending.lines.len() >= BACKLOG && !pending.stopping {
            pending = self
                .shared
                .drained
                .wait(pending)
                .unwrap_or_else(|p| p.into_inner());
        }
        let first = pending.lines.is_empty();
        pending.lines.extend_from_slice(line);
        drop(pending);
        if first {
            self.shared.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = &'a Self;

    fn make_writer(&'a self) -> &'a Self {
        self
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
