//! Uploads sent in parts. The desktop app's IPC carries one whole message per call, so a file is
//! sent as a sequence of parts that the importer reads as one stream: however large the file,
//! neither the window nor the backend holds more than a few parts of it.
//!
//! The client opens the upload ([`Api::import_upload_begin`]), starts its import
//! ([`Api::import_upload_parts`], which returns when the import ends) and sends the parts in
//! order ([`Api::import_upload_part`]), the last one marked. `import_progress` follows it by its
//! id, as it follows any upload.

use std::collections::HashMap;
use std::io::Read;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::json::{ImportOutcome, ImportProgressArgs, ImportUpload, UploadPart};
use super::{decode_header_value, Api, IMPORT_ID_HEADER};
use crate::error::{Error, Result};

/// Parts waiting for the importer: enough to keep it busy, few enough to hold little.
const PARTS_IN_FLIGHT: usize = 4;

/// How long the importer waits for a part, and a part for the importer, before the upload is
/// taken as abandoned (a closed window, a client that stopped): the import then ends with what
/// it has read, and frees the store.
const PART_WAIT: Duration = Duration::from_secs(120);

/// The header that marks an upload's last part.
pub const LAST_PART_HEADER: &str = "x-assay-last-part";

/// The header that abandons an upload, giving why (percent-encoded): the client could not read
/// the rest of its file.
pub const ABANDON_HEADER: &str = "x-assay-abandon-upload";

/// Uploads opened with [`Api::import_upload_begin`] and not yet ended, by id.
#[derive(Default)]
pub(super) struct PartedUploads(Mutex<HashMap<String, Parted>>);

/// A part's bytes, or why the client abandoned the upload.
type Part = std::result::Result<Vec<u8>, String>;

struct Parted {
    /// Dropped with the last part, so the import reads the end after it.
    sender: Option<SyncSender<Part>>,
    /// Taken by the import when it starts, which may be after the last part was sent: the
    /// entry stays until the import ends.
    receiver: Option<Receiver<Part>>,
    opened: Instant,
}

impl PartedUploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Parted>> {
        // The map holds channels only: a panic elsewhere cannot leave it inconsistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens an upload under `id` at `now`; `false` when one is open under it already. Uploads
    /// opened more than [`PART_WAIT`] before whose import never started are forgotten first
    /// (a window closed between opening and importing), so they do not pile up.
    fn open(&self, id: &str, now: Instant) -> bool {
        let mut open = self.lock();
        open.retain(|_, p| {
            p.receiver.is_none() || now.saturating_duration_since(p.opened) <= PART_WAIT
        });
        if open.contains_key(id) {
            return false;
        }
        let (sender, receiver) = mpsc::sync_channel(PARTS_IN_FLIGHT);
        open.insert(
            id.to_owned(),
            Parted {
                sender: Some(sender),
                receiver: Some(receiver),
                opened: now,
            },
        );
        true
    }
}

impl UploadPart {
    /// The part's upload id and whether it is the last, from its request headers, as both
    /// transports carry them.
    pub fn from_headers<'h>(header: impl Fn(&str) -> Option<&'h str>) -> UploadPart {
        UploadPart {
            id: header(IMPORT_ID_HEADER)
                .map(decode_header_value)
                .unwrap_or_default(),
            last: header(LAST_PART_HEADER).is_some_and(|v| v == "1" || v == "true"),
            abandon: header(ABANDON_HEADER).map(decode_header_value),
        }
    }
}

impl Api {
    /// Opens an upload that will be sent in parts under `id`.
    pub fn import_upload_begin(&self, args: &ImportProgressArgs) -> Result<()> {
        let invalid = |message: &str| Error::InvalidArguments {
            command: "import_upload_begin".into(),
            message: message.into(),
        };
        if args.id.is_empty() {
            return Err(invalid("id: an upload sent in parts needs an id"));
        }
        if !self.parted.open(&args.id, Instant::now()) {
            return Err(invalid("id: an upload with this id is open already"));
        }
        Ok(())
    }

    /// Imports the upload opened under `upload.id` from its parts as they arrive, as
    /// [`Api::import_upload`] imports a streamed body, and returns when the last part has been
    /// read or the import has stopped. A part that does not come within two minutes ends the
    /// import with what it has read.
    pub fn import_upload_parts(&self, upload: &ImportUpload) -> Result<ImportOutcome> {
        let id = upload.id.clone().unwrap_or_default();
        let receiver = self
            .parted
            .lock()
            .get_mut(&id)
            .and_then(|p| p.receiver.take())
            .ok_or_else(|| Error::InvalidArguments {
                command: "import_upload_parts".into(),
                message: format!("id: no upload {id:?} is open (import_upload_begin opens one)"),
            })?;
        let reader = PartsReader {
            parts: receiver,
            current: Vec::new(),
            at: 0,
        };
        let outcome = self.import_upload(upload, reader);
        // Parts sent after the import stopped are refused from now on.
        self.parted.lock().remove(&id);
        outcome
    }

    /// Hands the next part of the upload `part.id` to its import, waiting while the import has
    /// [`PARTS_IN_FLIGHT`] parts to read. Returns whether the import wants more: `false` once
    /// it has stopped (its outcome says why) or when no such upload is open. A part that
    /// abandons the upload (`part.abandon`, the client's reason) ends the import at once with a
    /// read error: what it wrote in whole batches stays, as for any read error.
    pub fn import_upload_part(&self, part: &UploadPart, bytes: Vec<u8>) -> Result<bool> {
        let sender = {
            let mut open = self.parted.lock();
            let Some(parted) = open.get_mut(&part.id) else {
                return Ok(false);
            };
            let Some(sender) = parted.sender.clone() else {
                // The last part was sent already.
                return Ok(false);
            };
            // Without the map's sender, the import reads the end once this part is read.
            if part.last || part.abandon.is_some() {
                parted.sender = None;
            }
            sender
        };
        let deadline = Instant::now() + PART_WAIT;
        let mut bytes = match &part.abandon {
            Some(reason) => Err(reason.clone()),
            None => Ok(bytes),
        };
        let mut pause = Duration::from_millis(1);
        loop {
            match sender.try_send(bytes) {
                Ok(()) => return Ok(part.abandon.is_none()),
                Err(TrySendError::Disconnected(_)) => return Ok(false),
                Err(TrySendError::Full(back)) => bytes = back,
            }
            if Instant::now() >= deadline {
                return Err(Error::InvalidArguments {
                    command: "import_upload_part".into(),
                    message: format!(
                        "id: upload {:?} has not been read for {} s (import_upload_parts reads it)",
                        part.id,
                        PART_WAIT.as_secs()
                    ),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

/// The parts of one upload as a reader, for the importer's thread.
struct PartsReader {
    parts: Receiver<Part>,
    current: Vec<u8>,
    at: usize,
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.parts.recv_timeout(PART_WAIT) {
                Ok(Ok(part)) => {
                    self.current = part;
                    self.at = 0;
                }
                Ok(Err(reason)) => {
                    return Err(std::io::Error::other(format!(
                        "the upload was abandoned: {reason}"
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "no part of the upload arrived for {} s",
                            PART_WAIT.as_secs()
                        ),
                    ))
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_never_imported_are_forgotten_after_the_wait() {
        let uploads = PartedUploads::default();
        let t0 = Instant::now();
        assert!(uploads.open("never imported", t0));
        assert!(uploads.open("importing", t0));
        uploads.lock().get_mut("importing").unwrap().receiver.take();
        assert!(!uploads.open("importing", t0), "an id is open once");

        // Within the wait, both stay.
        assert!(uploads.open("later", t0 + PART_WAIT));
        assert!(uploads.lock().contains_key("never imported"));

        // After it, the one whose import never started is gone; the one being imported stays.
        assert!(uploads.open("much later", t0 + PART_WAIT + Duration::from_secs(1)));
        let open = uploads.lock();
        assert!(!open.contains_key("never imported"));
        assert!(open.contains_key("importing"));
        assert!(open.contains_key("later"));
        assert!(open.contains_key("much later"));
    }
}
