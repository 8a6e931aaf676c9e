//! The control plane: a Unix socket that accepts JSON commands while the
//! guest runs (`vmm run --ctl SOCKET`, `vmm ctl SOCKET unplug pmem0`).
//!
//! Owns the protocol, the server thread (an event-manager loop over the
//! listening socket and its connections) and the mailbox through which the
//! server hands commands to the vCPU thread. The engine is single-threaded and
//! belongs to the vCPU thread, so the server never touches the VM: it queues
//! the command, kicks the vCPU thread out of KVM_RUN with a signal, and waits
//! for the vCPU thread to perform it at a safe point and answer.
//!
//! Protocol: one JSON object per line each way.
//! - `{"op":"unplug","device":"pmem0"}` -> `{"ok":true,"device":"pmem0",...}`
//! - `{"op":"plug","device":"pmem1","path":"/f"|"memfd","size":65536}`
//! - `{"op":"devices"}` -> `{"ok":true,"devices":[{"name":..,"gpa":..,"size":..}]}`
//! - errors: `{"ok":false,"error":"..."}`.
//!
//! Trust: a client is as trusted as the user who can open the socket (it is
//! created with the VMM user's umask); still, every line is parsed strictly
//! and a malformed one gets an error reply, never a panic.

use crate::error::{InternalError, VmmError};
use event_manager::{EventManager, EventOps, EventSet, Events, MutEventSubscriber, SubscriberOps};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A command for the vCPU thread.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Command {
    Unplug {
        device: String,
    },
    Plug {
        device: String,
        /// A host file path, or "memfd".
        path: String,
        #[serde(default)]
        size: Option<u64>,
    },
    Devices,
}

/// The answer: `ok` plus command-specific fields, or an error.
pub type Reply = serde_json::Value;

/// An error reply.
pub fn error_reply(msg: impl Into<String>) -> Reply {
    serde_json::json!({"ok": false, "error": msg.into()})
}

type Job = (Command, Instant, mpsc::Sender<Reply>);

/// Commands waiting for the vCPU thread, and how to kick it.
#[derive(Default)]
pub struct Mailbox {
    queue: Mutex<MailboxState>,
    pending: AtomicBool,
}

#[derive(Default)]
struct MailboxState {
    jobs: VecDeque<Job>,
    /// The vCPU thread while a run is in progress.
    vcpu: Option<libc::pthread_t>,
    stopped: bool,
}

impl Mailbox {
    /// Whether a command is waiting (cheap; checked by the vCPU loop at every exit).
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Queues `cmd` and kicks the vCPU thread; the receiver gets the reply.
    pub fn submit(&self, cmd: Command) -> mpsc::Receiver<Reply> {
        let (tx, rx) = mpsc::channel();
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.stopped {
            let _ = tx.send(error_reply("the VM is not running any more"));
            return rx;
        }
        q.jobs.push_back((cmd, Instant::now(), tx));
        self.pending.store(true, Ordering::Release);
        drop(q);
        self.kick();
        rx
    }

    /// Interrupts KVM_RUN on the vCPU thread (no-op if no run is in progress).
    pub fn kick(&self) {
        let q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = q.vcpu {
            crate::watchdog::kick(t);
        }
    }

    /// Called by the vCPU thread when a run starts and ends.
    pub fn attach_vcpu(&self, t: Option<libc::pthread_t>) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).vcpu = t;
    }

    /// Takes every waiting command (vCPU thread).
    pub fn take(&self) -> Vec<Job> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        self.pending.store(false, Ordering::Release);
        q.jobs.drain(..).collect()
    }

    /// No more commands will be served: waiting ones get an error.
    pub fn stop(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.stopped = true;
        q.vcpu = None;
        for (_, _, tx) in q.jobs.drain(..) {
            let _ = tx.send(error_reply("the VM stopped before the command ran"));
        }
        self.pending.store(false, Ordering::Release);
    }
}

/// One client connection: bytes read so far.
struct Conn {
    stream: UnixStream,
    buf: Vec<u8>,
}

/// The event-manager subscriber: the listener and its connections.
struct Server {
    listener: UnixListener,
    conns: HashMap<RawFd, Conn>,
    mailbox: Arc<Mailbox>,
}

/// Longest request line.
const MAX_LINE: usize = 4096;
/// How long a client waits for the vCPU thread before an error reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

impl Server {
    fn answer(&self, line: &[u8]) -> Reply {
        let cmd: Command = match serde_json::from_slice(line) {
            Ok(c) => c,
            Err(e) => return error_reply(format!("bad request: {e}")),
        };
        let rx = self.mailbox.submit(cmd);
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            // Re-kick until the vCPU thread takes the command: a kick that
            // lands while the guest is in its ring-0 shim is only noted.
            match rx.recv_timeout(Duration::from_millis(2)) {
                Ok(r) => return r,
                Err(mpsc::RecvTimeoutError::Disconnected) => return error_reply("the VM dropped the command"),
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() > deadline => {
                    return error_reply("no answer from the vCPU thread in time")
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.mailbox.pending() {
                        self.mailbox.kick();
                    }
                }
            }
        }
    }

    fn read_conn(&mut self, fd: RawFd, ops: &mut EventOps) {
        let mut close = false;
        let mut lines = Vec::new();
        if let Some(c) = self.conns.get_mut(&fd) {
            let mut chunk = [0u8; 1024];
            match c.stream.read(&mut chunk) {
                Ok(0) | Err(_) => close = true,
                Ok(n) => {
                    c.buf.extend_from_slice(&chunk[..n]);
                    while let Some(i) = c.buf.iter().position(|b| *b == b'\n') {
                        lines.push(c.buf.drain(..=i).collect::<Vec<u8>>());
                    }
                    if c.buf.len() > MAX_LINE {
                        lines.push(std::mem::take(&mut c.buf));
                        close = true;
                    }
                }
            }
        }
        for l in lines {
            let reply = if l.len() > MAX_LINE { error_reply("request line too long") } else { self.answer(&l) };
            if let Some(c) = self.conns.get_mut(&fd) {
                let mut out = serde_json::to_vec(&reply).unwrap_or_default();
                out.push(b'\n');
                if c.stream.write_all(&out).is_err() {
                    close = true;
                }
            }
        }
        if close {
            if let Some(c) = self.conns.remove(&fd) {
                let _ = ops.remove(Events::new(&c.stream, EventSet::IN));
            }
        }
    }
}

impl MutEventSubscriber for Server {
    fn process(&mut self, events: Events, ops: &mut EventOps) {
        let fd = events.fd();
        if fd == self.listener.as_raw_fd() {
            if let Ok((stream, _)) = self.listener.accept() {
                if ops.add(Events::new(&stream, EventSet::IN)).is_ok() {
                    self.conns.insert(stream.as_raw_fd(), Conn { stream, buf: Vec::new() });
                }
            }
            return;
        }
        self.read_conn(fd, ops);
    }

    fn init(&mut self, ops: &mut EventOps) {
        if let Err(e) = ops.add(Events::new(&self.listener, EventSet::IN)) {
            tracing::warn!("ctl: cannot watch the listening socket: {e:?}");
        }
    }
}

/// A running control server; dropping it stops the thread and removes the socket.
pub struct CtlServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub mailbox: Arc<Mailbox>,
}

impl CtlServer {
    /// Binds `path` (which must not exist) and starts serving.
    pub fn start(path: &Path, mailbox: Arc<Mailbox>) -> Result<CtlServer, VmmError> {
        let listener = UnixListener::bind(path).map_err(|e| VmmError::Host("binding the control socket", e))?;
        listener.set_nonblocking(true).map_err(|e| VmmError::Host("control socket", e))?;
        let mut em: EventManager<Server> = EventManager::new().map_err(InternalError::EventManager)?;
        em.add_subscriber(Server { listener, conns: HashMap::new(), mailbox: mailbox.clone() });
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ctl".into())
            .spawn(move || {
                while !s.load(Ordering::Acquire) {
                    if em.run_with_timeout(50).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| VmmError::Host("spawning the control thread", e))?;
        Ok(CtlServer { path: path.to_path_buf(), stop, thread: Some(thread), mailbox })
    }
}

impl Drop for CtlServer {
    fn drop(&mut self) {
        self.mailbox.stop();
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The client side: sends one command, returns the reply.
pub fn request(path: &Path, cmd: &Command) -> Result<Reply, VmmError> {
    let mut s = UnixStream::connect(path).map_err(|e| VmmError::Host("connecting to the control socket", e))?;
    let mut line = serde_json::to_vec(cmd).map_err(InternalError::CtlEncode)?;
    line.push(b'\n');
    s.write_all(&line).map_err(|e| VmmError::Host("writing to the control socket", e))?;
    let mut reply = String::new();
    BufReader::new(&s).read_line(&mut reply).map_err(|e| VmmError::Host("reading the control socket", e))?;
    serde_json::from_str(&reply).map_err(|source| InternalError::CtlReply { source, reply: reply.clone() }.into())
}

/// `vmm ctl SOCKET unplug NAME | plug NAME PATH [SIZE] | devices`.
pub fn command(socket: &Path, words: &[String], json: bool) -> Result<i32, VmmError> {
    let usage = || VmmError::Usage("vmm ctl SOCKET unplug NAME | plug NAME PATH|memfd [SIZE] | devices".into());
    let cmd = match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["unplug", name] => Command::Unplug { device: name.to_string() },
        ["plug", name, path] => Command::Plug { device: name.to_string(), path: path.to_string(), size: None },
        ["plug", name, path, size] => Command::Plug {
            device: name.to_string(),
            path: path.to_string(),
            size: Some(crate::size::parse_size(size).map_err(|e| VmmError::BadSize(size.to_string(), e))?),
        },
        ["devices"] => Command::Devices,
        _ => return Err(usage()),
    };
    let reply = request(socket, &cmd)?;
    let ok = reply.get("ok").and_then(|v| v.as_bool()) == Some(true);
    if json {
        println!("{reply}");
    } else if ok {
        println!("{}", human(&reply));
    } else {
        eprintln!("vmm ctl: {}", reply.get("error").and_then(|v| v.as_str()).unwrap_or("failed"));
    }
    Ok(if ok { 0 } else { 1 })
}

fn human(r: &Reply) -> String {
    if let Some(d) = r.get("devices").and_then(|d| d.as_array()) {
        let lines: Vec<String> = d
            .iter()
            .map(|x| format!("{} gpa {:#x} size {}", x["name"].as_str().unwrap_or("?"), x["gpa"].as_u64().unwrap_or(0), x["size"]))
            .collect();
        return if lines.is_empty() { "no devices".into() } else { lines.join("\n") };
    }
    if r.get("revoked_vmas").is_some() {
        return format!(
            "unplugged {}: {} VMAs in {} processes revoked, {} pages zapped, {} private copies kept; {} us from request to the vCPU back in the guest",
            r["device"].as_str().unwrap_or("?"),
            r["revoked_vmas"],
            r["spaces"],
            r["zapped"],
            r["kept_copies"],
            r["request_to_resume_us"]
        );
    }
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_strictly() {
        let c: Command = serde_json::from_str(r#"{"op":"unplug","device":"pmem0"}"#).unwrap();
        assert_eq!(c, Command::Unplug { device: "pmem0".into() });
        assert!(serde_json::from_str::<Command>(r#"{"op":"unplug"}"#).is_err());
        assert!(serde_json::from_str::<Command>(r#"{"op":"unplug","device":"x","extra":1}"#).is_err());
        assert!(serde_json::from_str::<Command>(r#"{"op":"format","device":"x"}"#).is_err());
    }

    #[test]
    fn a_stopped_mailbox_answers_with_an_error_at_once() {
        let m = Mailbox::default();
        m.stop();
        let r = m.submit(Command::Devices).recv().unwrap();
        assert_eq!(r["ok"], false);
    }
}
