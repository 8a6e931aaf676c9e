//! The watchdog: a guest that runs too long is stopped with a clear report.
//!
//! Owns a timer thread. When the deadline passes it marks the run expired and
//! keeps sending a real-time signal to the vCPU thread until the loop notices:
//! the signal interrupts KVM_RUN (EINTR) even when the guest spins in ring 3
//! without ever exiting. One of the few files with `unsafe`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use vmm_sys_util::signal::{register_signal_handler, SIGRTMIN};

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

static HANDLER: Once = Once::new();

/// Installs the no-op kick handler (once per process).
pub fn install_kick_handler() {
    HANDLER.call_once(|| {
        // A no-op handler: its only job is to make KVM_RUN return EINTR.
        let _ = register_signal_handler(SIGRTMIN(), on_kick);
    });
}

/// Interrupts KVM_RUN on thread `t` (the control plane's kick). The caller
/// guarantees `t` is a live thread: the machine detaches it from the mailbox
/// before its run ends.
pub fn kick(t: libc::pthread_t) {
    install_kick_handler();
    // SAFETY: `t` is a live thread (see above); the signal's handler is a
    // no-op installed before any kick is sent.
    unsafe { libc::pthread_kill(t, SIGRTMIN()) };
}

/// A running watchdog for the calling (vCPU) thread.
pub struct Watchdog {
    expired: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts a watchdog that fires `timeout` from now at the calling thread.
    pub fn start(timeout: Duration) -> Watchdog {
        install_kick_handler();
        // SAFETY: pthread_self has no preconditions.
        let target = unsafe { libc::pthread_self() };
        let expired = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (e, d) = (expired.clone(), done.clone());
        let deadline = Instant::now() + timeout;
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                while !d.load(Ordering::Acquire) {
                    let now = Instant::now();
                    if now < deadline {
                        std::thread::park_timeout(deadline - now);
                        continue;
                    }
                    e.store(true, Ordering::Release);
                    // SAFETY: `target` is the vCPU thread, which outlives this
                    // thread: Drop sets `done` and joins us before it returns.
                    unsafe { libc::pthread_kill(target, SIGRTMIN()) };
                    std::thread::park_timeout(Duration::from_millis(20));
                }
            })
            .expect("spawning the watchdog thread");
        Watchdog { expired, done, thread: Some(thread) }
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::Acquire)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
