//! The service's wire format: frames on a Unix socket, small typed messages beside raw pane bytes.
//!
//! A frame is a 5-byte header (kind: `u8`, payload length: `u32` big-endian) and the payload.
//! [`FrameKind::Message`] carries one JSON message ([`ClientMsg`] or [`ServerMsg`]); the pane kinds
//! carry an attachment id (`u32` big-endian) and then raw terminal bytes, never wrapped in JSON.
//!
//! The first frame a client sends is [`ClientMsg::Hello`] with [`PROTOCOL_VERSION`] and the token
//! from the 0600 token file; the service answers [`ServerMsg::Welcome`] or [`ServerMsg::Refused`]
//! (a message in words) and closes.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::orchestrator::{Command, EngineEvent};
use crate::store::Change;

/// The protocol's version. A client and a service that differ refuse each other in words.
pub const PROTOCOL_VERSION: u32 = 3;

/// The largest payload a frame may carry.
pub const MAX_FRAME: usize = 16 << 20;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// One JSON message.
    Message = 0,
    /// Service to client: live output of an attached pane.
    Output = 1,
    /// Client to service: keystrokes or a paste for an attached pane.
    Input = 2,
    /// Service to client: the pane's screen and recent scrollback, drawn from a reset; what is
    /// shown is replaced by it (on attach, and when the client fell behind).
    Screen = 3,
    /// Service to client: the screen of an attachment the client holds
    /// ([`ServiceRequest::Hold`]), sent of the service's accord once the pane's output has
    /// stopped for [`super::SETTLE_QUIET`]: the hold is over and live output follows.
    Settled = 4,
}

impl FrameKind {
    fn from_u8(b: u8) -> Option<FrameKind> {
        Some(match b {
            0 => FrameKind::Message,
            1 => FrameKind::Output,
            2 => FrameKind::Input,
            3 => FrameKind::Screen,
            4 => FrameKind::Settled,
            _ => return None,
        })
    }
}

/// One frame as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Message(Vec<u8>),
    /// `(kind, attachment, bytes)` for the pane kinds.
    Pane(FrameKind, u32, Vec<u8>),
}

/// Writes a message frame.
pub fn write_message(w: &mut impl Write, msg: &impl Serialize) -> io::Result<()> {
    let json = serde_json::to_vec(msg).map_err(io::Error::other)?;
    write_frame(w, FrameKind::Message, &json)
}

/// Writes a pane frame: the attachment id, then the bytes.
pub fn write_pane(
    w: &mut impl Write,
    kind: FrameKind,
    attachment: u32,
    bytes: &[u8],
) -> io::Result<()> {
    let len = bytes.len() + 4;
    if len > MAX_FRAME {
        return Err(io::Error::other(format!(
            "a frame of {len} bytes is over the limit"
        )));
    }
    let mut head = [0u8; 9];
    head[0] = kind as u8;
    head[1..5].copy_from_slice(&(len as u32).to_be_bytes());
    head[5..9].copy_from_slice(&attachment.to_be_bytes());
    w.write_all(&head)?;
    w.write_all(bytes)
}

fn write_frame(w: &mut impl Write, kind: FrameKind, payload: &[u8]) -> io::Result<()> {
    if payload.len() > MAX_FRAME {
        return Err(io::Error::other(format!(
            "a frame of {} bytes is over the limit",
            payload.len()
        )));
    }
    let mut head = [0u8; 5];
    head[0] = kind as u8;
    head[1..5].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    w.write_all(&head)?;
    w.write_all(payload)
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..])?;
    let kind = FrameKind::from_u8(head[0]).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown frame kind {}", head[0]),
        )
    })?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is over the limit"),
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    if kind == FrameKind::Message {
        return Ok(Some(Frame::Message(payload)));
    }
    if len < 4 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a pane frame without its attachment id",
        ));
    }
    let attachment = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
    payload.drain(..4);
    Ok(Some(Frame::Pane(kind, attachment, payload)))
}

/// A client's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Hello { version: u32, token: String },
    Request { id: u64, request: ServiceRequest },
}

/// What a client asks the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum ServiceRequest {
    /// Open a project and start its run, or find it running. Answers a [`ProjectEntry`].
    Open {
        dir: PathBuf,
        #[serde(default)]
        fresh: bool,
        /// The caller vouches for the project's commands for this run (`leap run --trust`).
        #[serde(default)]
        trust: bool,
    },
    /// Every project the service holds: `Vec<ProjectEntry>`.
    Projects,
    /// The run's [`crate::orchestrator::Snapshot`].
    State { project: String },
    /// The run in `leap simulate --json`'s shape, and as `leap simulate` prints it
    /// ([`RunSummary`]).
    Summary { project: String },
    /// A user command; answers its message.
    Command { project: String, command: Command },
    /// From now on, every [`EngineEvent`] of the project as [`ServerMsg::Event`].
    Subscribe { project: String },
    /// An agent's pane: a [`FrameKind::Screen`] frame with its screen and up to `scrollback`
    /// lines above it, then its live output. Answers the attachment id (`u32`).
    Attach {
        project: String,
        agent: String,
        #[serde(default = "default_scrollback")]
        scrollback: usize,
    },
    /// The client's renderer fell behind on an attachment: nothing more is sent for it until
    /// [`ServiceRequest::Resync`], or until the pane's output stops for
    /// [`super::SETTLE_QUIET`]: then a [`FrameKind::Settled`] screen ends the hold. So a
    /// client may space its screens out while an agent floods and still draw the flood's end
    /// as soon as it comes.
    Hold { attachment: u32 },
    /// Stop sending a pane (hidden in the window): nothing more is sent for it.
    Detach { attachment: u32 },
    /// What an agent's pane shows, as text ([`crate::pty::ScreenSnapshot`]).
    Screen { project: String, agent: String },
    /// Resize an agent's pane.
    Resize {
        project: String,
        agent: String,
        rows: u16,
        cols: u16,
    },
    /// Stop a project's run: its agents are hung up, its state saved.
    Stop { project: String },
    /// The run so far and where it stands: [`crate::orchestrator::RunProgress`].
    Progress { project: String },
    /// Whether the commands of the project in `dir` are approved in the service's trust file (the
    /// one its runs check): [`crate::trust::TrustReview`].
    TrustReview { dir: PathBuf },
    /// Approves the commands of the project in `dir`, if they are still the ones shown (their
    /// `fingerprint`); answers a line in words.
    Approve { dir: PathBuf, fingerprint: String },
    /// A fresh [`FrameKind::Screen`] frame for one of this client's attachments (its renderer fell
    /// behind and dropped output, or it attached with a screen alone and now wants the lines
    /// above it); what was queued for it before is dropped. With `scrollback`, this screen and
    /// every later one of the attachment carry up to that many lines above the screen.
    Resync {
        attachment: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scrollback: Option<usize>,
    },
    /// A call of the service's [`crate::store::Store`]; answers the method's result.
    Store { call: StoreCall },
    /// Stop every run and exit.
    Shutdown,
}

/// A [`crate::store::Store`] method, through the service (see `ServiceStore`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum StoreCall {
    /// Answers an [`crate::store::Ack`]. (Boxed: a project is large, a request small.)
    Apply {
        change: Box<Change>,
    },
    Project {
        id: String,
    },
    Projects,
    Batch {
        project: String,
        number: u32,
    },
    Batches {
        project: String,
    },
    Ticket {
        project: String,
        id: String,
    },
    Tickets {
        project: String,
    },
    PhaseRun {
        project: String,
        id: u64,
    },
    PhaseRuns {
        project: String,
    },
    Handoff {
        project: String,
        id: u64,
    },
    Handoffs {
        project: String,
    },
    Events {
        project: String,
        after: u64,
        limit: usize,
    },
    LastSeq {
        project: String,
    },
    GenerateId,
}

fn default_scrollback() -> usize {
    1000
}

/// A project the service holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectEntry {
    /// How requests name it: the project folder's canonical path.
    pub project: String,
    pub name: String,
    pub running: bool,
    pub finished: bool,
    pub agents: Vec<String>,
}

/// A run's summary: `leap simulate --json`'s shape and its text table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub json: serde_json::Value,
    pub text: String,
}

/// The service's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        version: u32,
        pid: u32,
    },
    /// The hello was refused (another protocol version, a wrong token), in words.
    Refused {
        message: String,
    },
    Reply {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ok: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Event {
        project: String,
        event: EngineEvent,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_ones_are_errors() {
        let mut buf = Vec::new();
        write_message(
            &mut buf,
            &ClientMsg::Hello {
                version: 1,
                token: "t".into(),
            },
        )
        .unwrap();
        write_pane(&mut buf, FrameKind::Output, 7, b"\x1b[1mhi\xff").unwrap();
        write_pane(&mut buf, FrameKind::Input, 0, b"").unwrap();
        let mut r = &buf[..];
        let Some(Frame::Message(m)) = read_frame(&mut r).unwrap() else {
            panic!("a message")
        };
        assert_eq!(
            serde_json::from_slice::<ClientMsg>(&m).unwrap(),
            ClientMsg::Hello {
                version: 1,
                token: "t".into()
            }
        );
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some(Frame::Pane(FrameKind::Output, 7, b"\x1b[1mhi\xff".to_vec()))
        );
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some(Frame::Pane(FrameKind::Input, 0, vec![]))
        );
        assert_eq!(read_frame(&mut r).unwrap(), None);

        let bad_kind = [9u8, 0, 0, 0, 0];
        assert!(read_frame(&mut &bad_kind[..])
            .unwrap_err()
            .to_string()
            .contains("kind 9"));
        let too_big = [0u8, 0xff, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut &too_big[..])
            .unwrap_err()
            .to_string()
            .contains("over the limit"));
        let short_pane = [1u8, 0, 0, 0, 2, 0, 0];
        assert!(read_frame(&mut &short_pane[..]).is_err());
    }
}
