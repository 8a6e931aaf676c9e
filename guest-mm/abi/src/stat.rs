//! File types and modes, and the x86-64 `struct stat` that fstat and
//! newfstatat fill (arch/x86/include/uapi/asm/stat.h).

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;
/// Names of the file types, for decoding.
pub const S_IF_NAMES: &[(u32, &str)] = &[
    (S_IFSOCK, "S_IFSOCK"),
    (S_IFLNK, "S_IFLNK"),
    (S_IFREG, "S_IFREG"),
    (S_IFBLK, "S_IFBLK"),
    (S_IFDIR, "S_IFDIR"),
    (S_IFCHR, "S_IFCHR"),
    (S_IFIFO, "S_IFIFO"),
];

/// The x86-64 `struct stat` (144 bytes).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Stat {
    pub const SIZE: usize = 144;

    /// The bytes user space reads.
    pub fn to_bytes(&self) -> [u8; Stat::SIZE] {
        let mut b = [0u8; Stat::SIZE];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &self.dev.to_le_bytes());
        put(8, &self.ino.to_le_bytes());
        put(16, &self.nlink.to_le_bytes());
        put(24, &self.mode.to_le_bytes());
        put(28, &self.uid.to_le_bytes());
        put(32, &self.gid.to_le_bytes());
        put(40, &self.rdev.to_le_bytes());
        put(48, &self.size.to_le_bytes());
        put(56, &self.blksize.to_le_bytes());
        put(64, &self.blocks.to_le_bytes());
        put(72, &self.atime.0.to_le_bytes());
        put(80, &self.atime.1.to_le_bytes());
        put(88, &self.mtime.0.to_le_bytes());
        put(96, &self.mtime.1.to_le_bytes());
        put(104, &self.ctime.0.to_le_bytes());
        put(112, &self.ctime.1.to_le_bytes());
        b
    }
}

impl Stat {
    /// The fields from the bytes user space holds (for decoding a trace).
    pub fn from_bytes(b: &[u8; Stat::SIZE]) -> Stat {
        let q = |off: usize| u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"));
        let d = |off: usize| u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"));
        Stat {
            dev: q(0),
            ino: q(8),
            nlink: q(16),
            mode: d(24),
            uid: d(28),
            gid: d(32),
            rdev: q(40),
            size: q(48) as i64,
            blksize: q(56) as i64,
            blocks: q(64) as i64,
            atime: (q(72) as i64, q(80) as i64),
            mtime: (q(88) as i64, q(96) as i64),
            ctime: (q(104) as i64, q(112) as i64),
        }
    }
}

/// The major number of an encoded device number (new_decode_dev).
pub const fn major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

/// The minor number of an encoded device number.
pub const fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

/// A device number as the kernel encodes it for user space (new_encode_dev).
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & !0xff) << 12) | ((ma & !0xfff) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_round_trip() {
        for (ma, mi) in [(0, 0), (1, 3), (136, 5), (4095, 255), (4096, 256), (0xfffff, 0xfffff)] {
            let d = makedev(ma, mi);
            assert_eq!((major(d), minor(d)), (ma, mi));
        }
    }

    #[test]
    fn stat_bytes_round_trip() {
        let s = Stat {
            dev: 5,
            ino: 6,
            nlink: 1,
            mode: S_IFREG | 0o644,
            uid: 7,
            gid: 8,
            rdev: 9,
            size: 10,
            blksize: 4096,
            blocks: 8,
            atime: (1, 2),
            mtime: (3, 4),
            ctime: (5, 6),
        };
        assert_eq!(Stat::from_bytes(&s.to_bytes()), s);
    }

    #[test]
    fn stat_layout_and_device_numbers() {
        let s = Stat { mode: S_IFCHR | 0o620, size: -1, ctime: (7, 8), ..Default::default() };
        let b = s.to_bytes();
        assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), S_IFCHR | 0o620);
        assert_eq!(i64::from_le_bytes(b[48..56].try_into().unwrap()), -1);
        assert_eq!(i64::from_le_bytes(b[112..120].try_into().unwrap()), 8);
        assert_eq!(makedev(136, 0), 0x8800, "/dev/pts/0");
        assert_eq!(makedev(1, 3), 0x103, "/dev/null");
    }
}
