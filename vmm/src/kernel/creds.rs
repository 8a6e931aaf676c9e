//! Credentials: the ids a process runs with (kernel/cred.c, kernel/sys.c).
//!
//! The guest's identity is documented in docs/syscalls.md: every process
//! starts with the real, effective, saved and filesystem ids and the
//! supplementary groups of the VMM process itself, and with no capabilities
//! at all. So the set*id calls follow Linux's rules for an unprivileged
//! process (without CAP_SETUID/CAP_SETGID): a process may only move between
//! ids it already holds, and setgroups is EPERM.

use guest_mm::Errno;

/// The ids of a process.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
}

/// "No change" for the set*id calls ((uid_t)-1).
const KEEP: u32 = u32::MAX;

/// The three ids one family (user or group) of set*id calls works on.
struct Ids<'a> {
    real: &'a mut u32,
    eff: &'a mut u32,
    saved: &'a mut u32,
    fs: &'a mut u32,
}

impl Ids<'_> {
    fn holds(&self, id: u32) -> bool {
        id == *self.real || id == *self.eff || id == *self.saved
    }

    /// setuid(2) without CAP_SETUID: only the effective (and fs) id changes,
    /// to the real or saved id.
    fn set(&mut self, id: u32) -> Result<(), Errno> {
        if id == KEEP {
            return Err(Errno::EINVAL);
        }
        if id != *self.real && id != *self.saved {
            return Err(Errno::EPERM);
        }
        *self.eff = id;
        *self.fs = id;
        Ok(())
    }

    /// setreuid(2): real may become the real or effective id; effective may
    /// become any of the three; the saved id follows the effective one when
    /// the real id is set or the effective id differs from the old real one.
    fn set_re(&mut self, r: u32, e: u32) -> Result<(), Errno> {
        let old_real = *self.real;
        if r != KEEP && r != *self.real && r != *self.eff {
            return Err(Errno::EPERM);
        }
        if e != KEEP && !self.holds(e) {
            return Err(Errno::EPERM);
        }
        if r != KEEP {
            *self.real = r;
        }
        if e != KEEP {
            *self.eff = e;
        }
        if r != KEEP || (e != KEEP && e != old_real) {
            *self.saved = *self.eff;
        }
        *self.fs = *self.eff;
        Ok(())
    }

    /// setresuid(2): each given id must be one the process holds.
    fn set_res(&mut self, r: u32, e: u32, s: u32) -> Result<(), Errno> {
        for id in [r, e, s] {
            if id != KEEP && !self.holds(id) {
                return Err(Errno::EPERM);
            }
        }
        if r != KEEP {
            *self.real = r;
        }
        if e != KEEP {
            *self.eff = e;
        }
        if s != KEEP {
            *self.saved = s;
        }
        *self.fs = *self.eff;
        Ok(())
    }

    /// setfsuid(2): returns the old fs id; changes it only to one of the
    /// held ids (or the current fs id).
    fn set_fs(&mut self, id: u32) -> u32 {
        let old = *self.fs;
        if id == *self.real || id == *self.eff || id == *self.saved || id == *self.fs {
            *self.fs = id;
        }
        old
    }
}

/// Which family a set*id call works on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Family {
    User,
    Group,
}

impl Creds {
    /// The VMM process's own identity.
    pub fn of_host() -> Creds {
        // SAFETY: these calls have no preconditions and only read our credentials.
        let (uid, euid, gid, egid) = unsafe { (libc::getuid(), libc::geteuid(), libc::getgid(), libc::getegid()) };
        let mut groups = vec![0u32; 256];
        // SAFETY: the buffer holds 256 gid_t values, as the size says.
        let n = unsafe { libc::getgroups(groups.len() as i32, groups.as_mut_ptr()) };
        groups.truncate(n.max(0) as usize);
        Creds { uid, euid, suid: euid, fsuid: euid, gid, egid, sgid: egid, fsgid: egid, groups }
    }

    fn ids(&mut self, f: Family) -> Ids<'_> {
        match f {
            Family::User => Ids { real: &mut self.uid, eff: &mut self.euid, saved: &mut self.suid, fs: &mut self.fsuid },
            Family::Group => Ids { real: &mut self.gid, eff: &mut self.egid, saved: &mut self.sgid, fs: &mut self.fsgid },
        }
    }

    /// Validate, then commit: each call checks every id before changing any.
    pub fn set(&mut self, f: Family, id: u32) -> Result<(), Errno> {
        self.ids(f).set(id)
    }
    pub fn set_re(&mut self, f: Family, r: u32, e: u32) -> Result<(), Errno> {
        self.ids(f).set_re(r, e)
    }
    pub fn set_res(&mut self, f: Family, r: u32, e: u32, s: u32) -> Result<(), Errno> {
        self.ids(f).set_res(r, e, s)
    }
    pub fn set_fs(&mut self, f: Family, id: u32) -> u32 {
        self.ids(f).set_fs(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32) -> Creds {
        Creds { uid, euid: uid, suid: uid, fsuid: uid, gid: 100, egid: 100, sgid: 100, fsgid: 100, groups: vec![100] }
    }

    #[test]
    fn an_unprivileged_process_keeps_to_its_own_ids() {
        let mut c = user(1000);
        assert_eq!(c.set(Family::User, 1000), Ok(()));
        assert_eq!(c.set(Family::User, 0), Err(Errno::EPERM));
        assert_eq!(c.set(Family::User, KEEP), Err(Errno::EINVAL));
        assert_eq!(c.set_res(Family::User, KEEP, KEEP, KEEP), Ok(()));
        assert_eq!(c.set_res(Family::Group, 100, 5, KEEP), Err(Errno::EPERM));
        assert_eq!(c, user(1000), "a refused call changes nothing");
        assert_eq!(c.set_fs(Family::User, 0), 1000, "setfsuid returns the old id");
        assert_eq!(c.fsuid, 1000, "and refuses a foreign one silently");
    }
}
