//! Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h), and
//! the kernel-internal restart codes (include/linux/errno.h) that a kernel
//! uses between a blocked call and signal delivery and never returns.
//!
//! `Errno` is a checked newtype: every value it can hold is one Linux
//! defines, so `name()` is total and a syscall result built from it is always
//! a valid `-errno`.

use core::fmt;

/// A Linux error number.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(u16);

impl Errno {
    /// Operation not permitted.
    pub const EPERM: Errno = Errno(1);
    /// No such file or directory.
    pub const ENOENT: Errno = Errno(2);
    /// No such process.
    pub const ESRCH: Errno = Errno(3);
    /// Interrupted system call.
    pub const EINTR: Errno = Errno(4);
    /// I/O error.
    pub const EIO: Errno = Errno(5);
    /// No such device or address.
    pub const ENXIO: Errno = Errno(6);
    /// Argument list too long.
    pub const E2BIG: Errno = Errno(7);
    /// Exec format error.
    pub const ENOEXEC: Errno = Errno(8);
    /// Bad file number.
    pub const EBADF: Errno = Errno(9);
    /// No child processes.
    pub const ECHILD: Errno = Errno(10);
    /// Try again.
    pub const EAGAIN: Errno = Errno(11);
    /// Out of memory.
    pub const ENOMEM: Errno = Errno(12);
    /// Permission denied.
    pub const EACCES: Errno = Errno(13);
    /// Bad address.
    pub const EFAULT: Errno = Errno(14);
    /// Block device required.
    pub const ENOTBLK: Errno = Errno(15);
    /// Device or resource busy.
    pub const EBUSY: Errno = Errno(16);
    /// File exists.
    pub const EEXIST: Errno = Errno(17);
    /// Cross-device link.
    pub const EXDEV: Errno = Errno(18);
    /// No such device.
    pub const ENODEV: Errno = Errno(19);
    /// Not a directory.
    pub const ENOTDIR: Errno = Errno(20);
    /// Is a directory.
    pub const EISDIR: Errno = Errno(21);
    /// Invalid argument.
    pub const EINVAL: Errno = Errno(22);
    /// File table overflow.
    pub const ENFILE: Errno = Errno(23);
    /// Too many open files.
    pub const EMFILE: Errno = Errno(24);
    /// Not a typewriter.
    pub const ENOTTY: Errno = Errno(25);
    /// Text file busy.
    pub const ETXTBSY: Errno = Errno(26);
    /// File too large.
    pub const EFBIG: Errno = Errno(27);
    /// No space left on device.
    pub const ENOSPC: Errno = Errno(28);
    /// Illegal seek.
    pub const ESPIPE: Errno = Errno(29);
    /// Read-only file system.
    pub const EROFS: Errno = Errno(30);
    /// Too many links.
    pub const EMLINK: Errno = Errno(31);
    /// Broken pipe.
    pub const EPIPE: Errno = Errno(32);
    /// Math argument out of domain of func.
    pub const EDOM: Errno = Errno(33);
    /// Math result not representable.
    pub const ERANGE: Errno = Errno(34);
    /// Resource deadlock would occur.
    pub const EDEADLK: Errno = Errno(35);
    /// File name too long.
    pub const ENAMETOOLONG: Errno = Errno(36);
    /// No record locks available.
    pub const ENOLCK: Errno = Errno(37);
    /// Invalid system call number.
    pub const ENOSYS: Errno = Errno(38);
    /// Directory not empty.
    pub const ENOTEMPTY: Errno = Errno(39);
    /// Too many symbolic links encountered.
    pub const ELOOP: Errno = Errno(40);
    /// No message of desired type.
    pub const ENOMSG: Errno = Errno(42);
    /// Identifier removed.
    pub const EIDRM: Errno = Errno(43);
    /// Channel number out of range.
    pub const ECHRNG: Errno = Errno(44);
    /// Level 2 not synchronized.
    pub const EL2NSYNC: Errno = Errno(45);
    /// Level 3 halted.
    pub const EL3HLT: Errno = Errno(46);
    /// Level 3 reset.
    pub const EL3RST: Errno = Errno(47);
    /// Link number out of range.
    pub const ELNRNG: Errno = Errno(48);
    /// Protocol driver not attached.
    pub const EUNATCH: Errno = Errno(49);
    /// No CSI structure available.
    pub const ENOCSI: Errno = Errno(50);
    /// Level 2 halted.
    pub const EL2HLT: Errno = Errno(51);
    /// Invalid exchange.
    pub const EBADE: Errno = Errno(52);
    /// Invalid request descriptor.
    pub const EBADR: Errno = Errno(53);
    /// Exchange full.
    pub const EXFULL: Errno = Errno(54);
    /// No anode.
    pub const ENOANO: Errno = Errno(55);
    /// Invalid request code.
    pub const EBADRQC: Errno = Errno(56);
    /// Invalid slot.
    pub const EBADSLT: Errno = Errno(57);
    /// Bad font file format.
    pub const EBFONT: Errno = Errno(59);
    /// Device not a stream.
    pub const ENOSTR: Errno = Errno(60);
    /// No data available.
    pub const ENODATA: Errno = Errno(61);
    /// Timer expired.
    pub const ETIME: Errno = Errno(62);
    /// Out of streams resources.
    pub const ENOSR: Errno = Errno(63);
    /// Machine is not on the network.
    pub const ENONET: Errno = Errno(64);
    /// Package not installed.
    pub const ENOPKG: Errno = Errno(65);
    /// Object is remote.
    pub const EREMOTE: Errno = Errno(66);
    /// Link has been severed.
    pub const ENOLINK: Errno = Errno(67);
    /// Advertise error.
    pub const EADV: Errno = Errno(68);
    /// Srmount error.
    pub const ESRMNT: Errno = Errno(69);
    /// Communication error on send.
    pub const ECOMM: Errno = Errno(70);
    /// Protocol error.
    pub const EPROTO: Errno = Errno(71);
    /// Multihop attempted.
    pub const EMULTIHOP: Errno = Errno(72);
    /// RFS specific error.
    pub const EDOTDOT: Errno = Errno(73);
    /// Not a data message.
    pub const EBADMSG: Errno = Errno(74);
    /// Value too large for defined data type.
    pub const EOVERFLOW: Errno = Errno(75);
    /// Name not unique on network.
    pub const ENOTUNIQ: Errno = Errno(76);
    /// File descriptor in bad state.
    pub const EBADFD: Errno = Errno(77);
    /// Remote address changed.
    pub const EREMCHG: Errno = Errno(78);
    /// Can not access a needed shared library.
    pub const ELIBACC: Errno = Errno(79);
    /// Accessing a corrupted shared library.
    pub const ELIBBAD: Errno = Errno(80);
    /// .lib section in a.out corrupted.
    pub const ELIBSCN: Errno = Errno(81);
    /// Attempting to link in too many shared libraries.
    pub const ELIBMAX: Errno = Errno(82);
    /// Cannot exec a shared library directly.
    pub const ELIBEXEC: Errno = Errno(83);
    /// Illegal byte sequence.
    pub const EILSEQ: Errno = Errno(84);
    /// Interrupted system call should be restarted.
    pub const ERESTART: Errno = Errno(85);
    /// Streams pipe error.
    pub const ESTRPIPE: Errno = Errno(86);
    /// Too many users.
    pub const EUSERS: Errno = Errno(87);
    /// Socket operation on non-socket.
    pub const ENOTSOCK: Errno = Errno(88);
    /// Destination address required.
    pub const EDESTADDRREQ: Errno = Errno(89);
    /// Message too long.
    pub const EMSGSIZE: Errno = Errno(90);
    /// Protocol wrong type for socket.
    pub const EPROTOTYPE: Errno = Errno(91);
    /// Protocol not available.
    pub const ENOPROTOOPT: Errno = Errno(92);
    /// Protocol not supported.
    pub const EPROTONOSUPPORT: Errno = Errno(93);
    /// Socket type not supported.
    pub const ESOCKTNOSUPPORT: Errno = Errno(94);
    /// Operation not supported on transport endpoint.
    pub const EOPNOTSUPP: Errno = Errno(95);
    /// Protocol family not supported.
    pub const EPFNOSUPPORT: Errno = Errno(96);
    /// Address family not supported by protocol.
    pub const EAFNOSUPPORT: Errno = Errno(97);
    /// Address already in use.
    pub const EADDRINUSE: Errno = Errno(98);
    /// Cannot assign requested address.
    pub const EADDRNOTAVAIL: Errno = Errno(99);
    /// Network is down.
    pub const ENETDOWN: Errno = Errno(100);
    /// Network is unreachable.
    pub const ENETUNREACH: Errno = Errno(101);
    /// Network dropped connection because of reset.
    pub const ENETRESET: Errno = Errno(102);
    /// Software caused connection abort.
    pub const ECONNABORTED: Errno = Errno(103);
    /// Connection reset by peer.
    pub const ECONNRESET: Errno = Errno(104);
    /// No buffer space available.
    pub const ENOBUFS: Errno = Errno(105);
    /// Transport endpoint is already connected.
    pub const EISCONN: Errno = Errno(106);
    /// Transport endpoint is not connected.
    pub const ENOTCONN: Errno = Errno(107);
    /// Cannot send after transport endpoint shutdown.
    pub const ESHUTDOWN: Errno = Errno(108);
    /// Too many references: cannot splice.
    pub const ETOOMANYREFS: Errno = Errno(109);
    /// Connection timed out.
    pub const ETIMEDOUT: Errno = Errno(110);
    /// Connection refused.
    pub const ECONNREFUSED: Errno = Errno(111);
    /// Host is down.
    pub const EHOSTDOWN: Errno = Errno(112);
    /// No route to host.
    pub const EHOSTUNREACH: Errno = Errno(113);
    /// Operation already in progress.
    pub const EALREADY: Errno = Errno(114);
    /// Operation now in progress.
    pub const EINPROGRESS: Errno = Errno(115);
    /// Stale file handle.
    pub const ESTALE: Errno = Errno(116);
    /// Structure needs cleaning.
    pub const EUCLEAN: Errno = Errno(117);
    /// Not a XENIX named type file.
    pub const ENOTNAM: Errno = Errno(118);
    /// No XENIX semaphores available.
    pub const ENAVAIL: Errno = Errno(119);
    /// Is a named type file.
    pub const EISNAM: Errno = Errno(120);
    /// Remote I/O error.
    pub const EREMOTEIO: Errno = Errno(121);
    /// Quota exceeded.
    pub const EDQUOT: Errno = Errno(122);
    /// No medium found.
    pub const ENOMEDIUM: Errno = Errno(123);
    /// Wrong medium type.
    pub const EMEDIUMTYPE: Errno = Errno(124);
    /// Operation Canceled.
    pub const ECANCELED: Errno = Errno(125);
    /// Required key not available.
    pub const ENOKEY: Errno = Errno(126);
    /// Key has expired.
    pub const EKEYEXPIRED: Errno = Errno(127);
    /// Key has been revoked.
    pub const EKEYREVOKED: Errno = Errno(128);
    /// Key was rejected by service.
    pub const EKEYREJECTED: Errno = Errno(129);
    /// Owner died.
    pub const EOWNERDEAD: Errno = Errno(130);
    /// State not recoverable.
    pub const ENOTRECOVERABLE: Errno = Errno(131);
    /// Operation not possible due to RF-kill.
    pub const ERFKILL: Errno = Errno(132);
    /// Memory page has hardware error.
    pub const EHWPOISON: Errno = Errno(133);
    /// Restart the call (kernel-internal: never seen by user space).
    pub const ERESTARTSYS: Errno = Errno(512);
    /// Restart the call, whatever the handler (kernel-internal).
    pub const ERESTARTNOINTR: Errno = Errno(513);
    /// Restart the call if no handler ran (kernel-internal).
    pub const ERESTARTNOHAND: Errno = Errno(514);
    /// No ioctl command (kernel-internal).
    pub const ENOIOCTLCMD: Errno = Errno(515);
    /// Restart through restart_syscall (kernel-internal).
    pub const ERESTART_RESTARTBLOCK: Errno = Errno(516);
    /// Operation is not supported (kernel-internal).
    pub const ENOTSUPP: Errno = Errno(524);
    /// EAGAIN's other name.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// EDEADLK's other name.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;

    /// Every value user space can see, in number order.
    pub const ALL: &'static [Errno] = &[
        Errno::EPERM,
        Errno::ENOENT,
        Errno::ESRCH,
        Errno::EINTR,
        Errno::EIO,
        Errno::ENXIO,
        Errno::E2BIG,
        Errno::ENOEXEC,
        Errno::EBADF,
        Errno::ECHILD,
        Errno::EAGAIN,
        Errno::ENOMEM,
        Errno::EACCES,
        Errno::EFAULT,
        Errno::ENOTBLK,
        Errno::EBUSY,
        Errno::EEXIST,
        Errno::EXDEV,
        Errno::ENODEV,
        Errno::ENOTDIR,
        Errno::EISDIR,
        Errno::EINVAL,
        Errno::ENFILE,
        Errno::EMFILE,
        Errno::ENOTTY,
        Errno::ETXTBSY,
        Errno::EFBIG,
        Errno::ENOSPC,
        Errno::ESPIPE,
        Errno::EROFS,
        Errno::EMLINK,
        Errno::EPIPE,
        Errno::EDOM,
        Errno::ERANGE,
        Errno::EDEADLK,
        Errno::ENAMETOOLONG,
        Errno::ENOLCK,
        Errno::ENOSYS,
        Errno::ENOTEMPTY,
        Errno::ELOOP,
        Errno::ENOMSG,
        Errno::EIDRM,
        Errno::ECHRNG,
        Errno::EL2NSYNC,
        Errno::EL3HLT,
        Errno::EL3RST,
        Errno::ELNRNG,
        Errno::EUNATCH,
        Errno::ENOCSI,
        Errno::EL2HLT,
        Errno::EBADE,
        Errno::EBADR,
        Errno::EXFULL,
        Errno::ENOANO,
        Errno::EBADRQC,
        Errno::EBADSLT,
        Errno::EBFONT,
        Errno::ENOSTR,
        Errno::ENODATA,
        Errno::ETIME,
        Errno::ENOSR,
        Errno::ENONET,
        Errno::ENOPKG,
        Errno::EREMOTE,
        Errno::ENOLINK,
        Errno::EADV,
        Errno::ESRMNT,
        Errno::ECOMM,
        Errno::EPROTO,
        Errno::EMULTIHOP,
        Errno::EDOTDOT,
        Errno::EBADMSG,
        Errno::EOVERFLOW,
        Errno::ENOTUNIQ,
        Errno::EBADFD,
        Errno::EREMCHG,
        Errno::ELIBACC,
        Errno::ELIBBAD,
        Errno::ELIBSCN,
        Errno::ELIBMAX,
        Errno::ELIBEXEC,
        Errno::EILSEQ,
        Errno::ERESTART,
        Errno::ESTRPIPE,
        Errno::EUSERS,
        Errno::ENOTSOCK,
        Errno::EDESTADDRREQ,
        Errno::EMSGSIZE,
        Errno::EPROTOTYPE,
        Errno::ENOPROTOOPT,
        Errno::EPROTONOSUPPORT,
        Errno::ESOCKTNOSUPPORT,
        Errno::EOPNOTSUPP,
        Errno::EPFNOSUPPORT,
        Errno::EAFNOSUPPORT,
        Errno::EADDRINUSE,
        Errno::EADDRNOTAVAIL,
        Errno::ENETDOWN,
        Errno::ENETUNREACH,
        Errno::ENETRESET,
        Errno::ECONNABORTED,
        Errno::ECONNRESET,
        Errno::ENOBUFS,
        Errno::EISCONN,
        Errno::ENOTCONN,
        Errno::ESHUTDOWN,
        Errno::ETOOMANYREFS,
        Errno::ETIMEDOUT,
        Errno::ECONNREFUSED,
        Errno::EHOSTDOWN,
        Errno::EHOSTUNREACH,
        Errno::EALREADY,
        Errno::EINPROGRESS,
        Errno::ESTALE,
        Errno::EUCLEAN,
        Errno::ENOTNAM,
        Errno::ENAVAIL,
        Errno::EISNAM,
        Errno::EREMOTEIO,
        Errno::EDQUOT,
        Errno::ENOMEDIUM,
        Errno::EMEDIUMTYPE,
        Errno::ECANCELED,
        Errno::ENOKEY,
        Errno::EKEYEXPIRED,
        Errno::EKEYREVOKED,
        Errno::EKEYREJECTED,
        Errno::EOWNERDEAD,
        Errno::ENOTRECOVERABLE,
        Errno::ERFKILL,
        Errno::EHWPOISON,
    ];

    /// The errno with this number (user-visible or kernel-internal).
    pub fn new(code: i32) -> Option<Errno> {
        let e = Errno(u16::try_from(code).ok()?);
        e.lookup().map(|_| e)
    }

    /// The positive errno number.
    pub const fn code(self) -> i32 {
        self.0 as i32
    }

    /// The kernel's raw return value for this error (`-errno`).
    pub const fn as_return(self) -> i64 {
        -(self.0 as i64)
    }

    /// Whether this is a kernel-internal restart code that must never reach user space.
    pub const fn is_internal(self) -> bool {
        self.0 >= 512
    }

    /// The symbolic name, e.g. "EINVAL".
    pub fn name(self) -> &'static str {
        self.lookup().map_or("E?", |(_, n, _)| *n)
    }

    /// The one-line description (the comment of the uapi header).
    pub fn description(self) -> &'static str {
        self.lookup().map_or("", |(_, _, d)| *d)
    }

    /// The errno with this name (either name of an alias).
    pub fn from_name(name: &str) -> Option<Errno> {
        match name {
            "EWOULDBLOCK" => Some(Errno::EAGAIN),
            "EDEADLOCK" => Some(Errno::EDEADLK),
            _ => TABLE.iter().find(|(_, n, _)| *n == name).map(|(c, _, _)| Errno(*c)),
        }
    }

    /// The errno a raw syscall return value stands for (`-4095..=-1`).
    pub fn from_return(ret: i64) -> Option<Errno> {
        if (-4095..0).contains(&ret) {
            Errno::new(-ret as i32)
        } else {
            None
        }
    }

    fn lookup(self) -> Option<&'static (u16, &'static str, &'static str)> {
        TABLE.binary_search_by_key(&self.0, |(c, _, _)| *c).ok().map(|i| &TABLE[i])
    }
}

/// (number, name, description), sorted by number. The descriptions are glibc's
/// strerror texts (what strace prints after an errno name), not the kernel
/// header's comments; a vmm test compares them with the host's strerror.
const TABLE: &[(u16, &str, &str)] = &[
    (1, "EPERM", "Operation not permitted"),
    (2, "ENOENT", "No such file or directory"),
    (3, "ESRCH", "No such process"),
    (4, "EINTR", "Interrupted system call"),
    (5, "EIO", "Input/output error"),
    (6, "ENXIO", "No such device or address"),
    (7, "E2BIG", "Argument list too long"),
    (8, "ENOEXEC", "Exec format error"),
    (9, "EBADF", "Bad file descriptor"),
    (10, "ECHILD", "No child processes"),
    (11, "EAGAIN", "Resource temporarily unavailable"),
    (12, "ENOMEM", "Cannot allocate memory"),
    (13, "EACCES", "Permission denied"),
    (14, "EFAULT", "Bad address"),
    (15, "ENOTBLK", "Block device required"),
    (16, "EBUSY", "Device or resource busy"),
    (17, "EEXIST", "File exists"),
    (18, "EXDEV", "Invalid cross-device link"),
    (19, "ENODEV", "No such device"),
    (20, "ENOTDIR", "Not a directory"),
    (21, "EISDIR", "Is a directory"),
    (22, "EINVAL", "Invalid argument"),
    (23, "ENFILE", "Too many open files in system"),
    (24, "EMFILE", "Too many open files"),
    (25, "ENOTTY", "Inappropriate ioctl for device"),
    (26, "ETXTBSY", "Text file busy"),
    (27, "EFBIG", "File too large"),
    (28, "ENOSPC", "No space left on device"),
    (29, "ESPIPE", "Illegal seek"),
    (30, "EROFS", "Read-only file system"),
    (31, "EMLINK", "Too many links"),
    (32, "EPIPE", "Broken pipe"),
    (33, "EDOM", "Numerical argument out of domain"),
    (34, "ERANGE", "Numerical result out of range"),
    (35, "EDEADLK", "Resource deadlock avoided"),
    (36, "ENAMETOOLONG", "File name too long"),
    (37, "ENOLCK", "No locks available"),
    (38, "ENOSYS", "Function not implemented"),
    (39, "ENOTEMPTY", "Directory not empty"),
    (40, "ELOOP", "Too many levels of symbolic links"),
    (42, "ENOMSG", "No message of desired type"),
    (43, "EIDRM", "Identifier removed"),
    (44, "ECHRNG", "Channel number out of range"),
    (45, "EL2NSYNC", "Level 2 not synchronized"),
    (46, "EL3HLT", "Level 3 halted"),
    (47, "EL3RST", "Level 3 reset"),
    (48, "ELNRNG", "Link number out of range"),
    (49, "EUNATCH", "Protocol driver not attached"),
    (50, "ENOCSI", "No CSI structure available"),
    (51, "EL2HLT", "Level 2 halted"),
    (52, "EBADE", "Invalid exchange"),
    (53, "EBADR", "Invalid request descriptor"),
    (54, "EXFULL", "Exchange full"),
    (55, "ENOANO", "No anode"),
    (56, "EBADRQC", "Invalid request code"),
    (57, "EBADSLT", "Invalid slot"),
    (59, "EBFONT", "Bad font file format"),
    (60, "ENOSTR", "Device not a stream"),
    (61, "ENODATA", "No data available"),
    (62, "ETIME", "Timer expired"),
    (63, "ENOSR", "Out of streams resources"),
    (64, "ENONET", "Machine is not on the network"),
    (65, "ENOPKG", "Package not installed"),
    (66, "EREMOTE", "Object is remote"),
    (67, "ENOLINK", "Link has been severed"),
    (68, "EADV", "Advertise error"),
    (69, "ESRMNT", "Srmount error"),
    (70, "ECOMM", "Communication error on send"),
    (71, "EPROTO", "Protocol error"),
    (72, "EMULTIHOP", "Multihop attempted"),
    (73, "EDOTDOT", "RFS specific error"),
    (74, "EBADMSG", "Bad message"),
    (75, "EOVERFLOW", "Value too large for defined data type"),
    (76, "ENOTUNIQ", "Name not unique on network"),
    (77, "EBADFD", "File descriptor in bad state"),
    (78, "EREMCHG", "Remote address changed"),
    (79, "ELIBACC", "Can not access a needed shared library"),
    (80, "ELIBBAD", "Accessing a corrupted shared library"),
    (81, "ELIBSCN", ".lib section in a.out corrupted"),
    (82, "ELIBMAX", "Attempting to link in too many shared libraries"),
    (83, "ELIBEXEC", "Cannot exec a shared library directly"),
    (84, "EILSEQ", "Invalid or incomplete multibyte or wide character"),
    (85, "ERESTART", "Interrupted system call should be restarted"),
    (86, "ESTRPIPE", "Streams pipe error"),
    (87, "EUSERS", "Too many users"),
    (88, "ENOTSOCK", "Socket operation on non-socket"),
    (89, "EDESTADDRREQ", "Destination address required"),
    (90, "EMSGSIZE", "Message too long"),
    (91, "EPROTOTYPE", "Protocol wrong type for socket"),
    (92, "ENOPROTOOPT", "Protocol not available"),
    (93, "EPROTONOSUPPORT", "Protocol not supported"),
    (94, "ESOCKTNOSUPPORT", "Socket type not supported"),
    (95, "EOPNOTSUPP", "Operation not supported"),
    (96, "EPFNOSUPPORT", "Protocol family not supported"),
    (97, "EAFNOSUPPORT", "Address family not supported by protocol"),
    (98, "EADDRINUSE", "Address already in use"),
    (99, "EADDRNOTAVAIL", "Cannot assign requested address"),
    (100, "ENETDOWN", "Network is down"),
    (101, "ENETUNREACH", "Network is unreachable"),
    (102, "ENETRESET", "Network dropped connection on reset"),
    (103, "ECONNABORTED", "Software caused connection abort"),
    (104, "ECONNRESET", "Connection reset by peer"),
    (105, "ENOBUFS", "No buffer space available"),
    (106, "EISCONN", "Transport endpoint is already connected"),
    (107, "ENOTCONN", "Transport endpoint is not connected"),
    (108, "ESHUTDOWN", "Cannot send after transport endpoint shutdown"),
    (109, "ETOOMANYREFS", "Too many references: cannot splice"),
    (110, "ETIMEDOUT", "Connection timed out"),
    (111, "ECONNREFUSED", "Connection refused"),
    (112, "EHOSTDOWN", "Host is down"),
    (113, "EHOSTUNREACH", "No route to host"),
    (114, "EALREADY", "Operation already in progress"),
    (115, "EINPROGRESS", "Operation now in progress"),
    (116, "ESTALE", "Stale file handle"),
    (117, "EUCLEAN", "Structure needs cleaning"),
    (118, "ENOTNAM", "Not a XENIX named type file"),
    (119, "ENAVAIL", "No XENIX semaphores available"),
    (120, "EISNAM", "Is a named type file"),
    (121, "EREMOTEIO", "Remote I/O error"),
    (122, "EDQUOT", "Disk quota exceeded"),
    (123, "ENOMEDIUM", "No medium found"),
    (124, "EMEDIUMTYPE", "Wrong medium type"),
    (125, "ECANCELED", "Operation canceled"),
    (126, "ENOKEY", "Required key not available"),
    (127, "EKEYEXPIRED", "Key has expired"),
    (128, "EKEYREVOKED", "Key has been revoked"),
    (129, "EKEYREJECTED", "Key was rejected by service"),
    (130, "EOWNERDEAD", "Owner died"),
    (131, "ENOTRECOVERABLE", "State not recoverable"),
    (132, "ERFKILL", "Operation not possible due to RF-kill"),
    (133, "EHWPOISON", "Memory page has hardware error"),
    (512, "ERESTARTSYS", "Restart the call (kernel-internal: never seen by user space)"),
    (513, "ERESTARTNOINTR", "Restart the call, whatever the handler (kernel-internal)"),
    (514, "ERESTARTNOHAND", "Restart the call if no handler ran (kernel-internal)"),
    (515, "ENOIOCTLCMD", "No ioctl command (kernel-internal)"),
    (516, "ERESTART_RESTARTBLOCK", "Restart through restart_syscall (kernel-internal)"),
    (524, "ENOTSUPP", "Operation is not supported (kernel-internal)"),
];

/// The values as free constants, for `use linux_abi::errno::consts::*`.
pub mod consts {
    use super::Errno;
    pub const EPERM: Errno = Errno::EPERM;
    pub const ENOENT: Errno = Errno::ENOENT;
    pub const ESRCH: Errno = Errno::ESRCH;
    pub const EINTR: Errno = Errno::EINTR;
    pub const EIO: Errno = Errno::EIO;
    pub const ENXIO: Errno = Errno::ENXIO;
    pub const E2BIG: Errno = Errno::E2BIG;
    pub const ENOEXEC: Errno = Errno::ENOEXEC;
    pub const EBADF: Errno = Errno::EBADF;
    pub const ECHILD: Errno = Errno::ECHILD;
    pub const EAGAIN: Errno = Errno::EAGAIN;
    pub const ENOMEM: Errno = Errno::ENOMEM;
    pub const EACCES: Errno = Errno::EACCES;
    pub const EFAULT: Errno = Errno::EFAULT;
    pub const ENOTBLK: Errno = Errno::ENOTBLK;
    pub const EBUSY: Errno = Errno::EBUSY;
    pub const EEXIST: Errno = Errno::EEXIST;
    pub const EXDEV: Errno = Errno::EXDEV;
    pub const ENODEV: Errno = Errno::ENODEV;
    pub const ENOTDIR: Errno = Errno::ENOTDIR;
    pub const EISDIR: Errno = Errno::EISDIR;
    pub const EINVAL: Errno = Errno::EINVAL;
    pub const ENFILE: Errno = Errno::ENFILE;
    pub const EMFILE: Errno = Errno::EMFILE;
    pub const ENOTTY: Errno = Errno::ENOTTY;
    pub const ETXTBSY: Errno = Errno::ETXTBSY;
    pub const EFBIG: Errno = Errno::EFBIG;
    pub const ENOSPC: Errno = Errno::ENOSPC;
    pub const ESPIPE: Errno = Errno::ESPIPE;
    pub const EROFS: Errno = Errno::EROFS;
    pub const EMLINK: Errno = Errno::EMLINK;
    pub const EPIPE: Errno = Errno::EPIPE;
    pub const EDOM: Errno = Errno::EDOM;
    pub const ERANGE: Errno = Errno::ERANGE;
    pub const EDEADLK: Errno = Errno::EDEADLK;
    pub const ENAMETOOLONG: Errno = Errno::ENAMETOOLONG;
    pub const ENOLCK: Errno = Errno::ENOLCK;
    pub const ENOSYS: Errno = Errno::ENOSYS;
    pub const ENOTEMPTY: Errno = Errno::ENOTEMPTY;
    pub const ELOOP: Errno = Errno::ELOOP;
    pub const ENOMSG: Errno = Errno::ENOMSG;
    pub const EIDRM: Errno = Errno::EIDRM;
    pub const ECHRNG: Errno = Errno::ECHRNG;
    pub const EL2NSYNC: Errno = Errno::EL2NSYNC;
    pub const EL3HLT: Errno = Errno::EL3HLT;
    pub const EL3RST: Errno = Errno::EL3RST;
    pub const ELNRNG: Errno = Errno::ELNRNG;
    pub const EUNATCH: Errno = Errno::EUNATCH;
    pub const ENOCSI: Errno = Errno::ENOCSI;
    pub const EL2HLT: Errno = Errno::EL2HLT;
    pub const EBADE: Errno = Errno::EBADE;
    pub const EBADR: Errno = Errno::EBADR;
    pub const EXFULL: Errno = Errno::EXFULL;
    pub const ENOANO: Errno = Errno::ENOANO;
    pub const EBADRQC: Errno = Errno::EBADRQC;
    pub const EBADSLT: Errno = Errno::EBADSLT;
    pub const EBFONT: Errno = Errno::EBFONT;
    pub const ENOSTR: Errno = Errno::ENOSTR;
    pub const ENODATA: Errno = Errno::ENODATA;
    pub const ETIME: Errno = Errno::ETIME;
    pub const ENOSR: Errno = Errno::ENOSR;
    pub const ENONET: Errno = Errno::ENONET;
    pub const ENOPKG: Errno = Errno::ENOPKG;
    pub const EREMOTE: Errno = Errno::EREMOTE;
    pub const ENOLINK: Errno = Errno::ENOLINK;
    pub const EADV: Errno = Errno::EADV;
    pub const ESRMNT: Errno = Errno::ESRMNT;
    pub const ECOMM: Errno = Errno::ECOMM;
    pub const EPROTO: Errno = Errno::EPROTO;
    pub const EMULTIHOP: Errno = Errno::EMULTIHOP;
    pub const EDOTDOT: Errno = Errno::EDOTDOT;
    pub const EBADMSG: Errno = Errno::EBADMSG;
    pub const EOVERFLOW: Errno = Errno::EOVERFLOW;
    pub const ENOTUNIQ: Errno = Errno::ENOTUNIQ;
    pub const EBADFD: Errno = Errno::EBADFD;
    pub const EREMCHG: Errno = Errno::EREMCHG;
    pub const ELIBACC: Errno = Errno::ELIBACC;
    pub const ELIBBAD: Errno = Errno::ELIBBAD;
    pub const ELIBSCN: Errno = Errno::ELIBSCN;
    pub const ELIBMAX: Errno = Errno::ELIBMAX;
    pub const ELIBEXEC: Errno = Errno::ELIBEXEC;
    pub const EILSEQ: Errno = Errno::EILSEQ;
    pub const ERESTART: Errno = Errno::ERESTART;
    pub const ESTRPIPE: Errno = Errno::ESTRPIPE;
    pub const EUSERS: Errno = Errno::EUSERS;
    pub const ENOTSOCK: Errno = Errno::ENOTSOCK;
    pub const EDESTADDRREQ: Errno = Errno::EDESTADDRREQ;
    pub const EMSGSIZE: Errno = Errno::EMSGSIZE;
    pub const EPROTOTYPE: Errno = Errno::EPROTOTYPE;
    pub const ENOPROTOOPT: Errno = Errno::ENOPROTOOPT;
    pub const EPROTONOSUPPORT: Errno = Errno::EPROTONOSUPPORT;
    pub const ESOCKTNOSUPPORT: Errno = Errno::ESOCKTNOSUPPORT;
    pub const EOPNOTSUPP: Errno = Errno::EOPNOTSUPP;
    pub const EPFNOSUPPORT: Errno = Errno::EPFNOSUPPORT;
    pub const EAFNOSUPPORT: Errno = Errno::EAFNOSUPPORT;
    pub const EADDRINUSE: Errno = Errno::EADDRINUSE;
    pub const EADDRNOTAVAIL: Errno = Errno::EADDRNOTAVAIL;
    pub const ENETDOWN: Errno = Errno::ENETDOWN;
    pub const ENETUNREACH: Errno = Errno::ENETUNREACH;
    pub const ENETRESET: Errno = Errno::ENETRESET;
    pub const ECONNABORTED: Errno = Errno::ECONNABORTED;
    pub const ECONNRESET: Errno = Errno::ECONNRESET;
    pub const ENOBUFS: Errno = Errno::ENOBUFS;
    pub const EISCONN: Errno = Errno::EISCONN;
    pub const ENOTCONN: Errno = Errno::ENOTCONN;
    pub const ESHUTDOWN: Errno = Errno::ESHUTDOWN;
    pub const ETOOMANYREFS: Errno = Errno::ETOOMANYREFS;
    pub const ETIMEDOUT: Errno = Errno::ETIMEDOUT;
    pub const ECONNREFUSED: Errno = Errno::ECONNREFUSED;
    pub const EHOSTDOWN: Errno = Errno::EHOSTDOWN;
    pub const EHOSTUNREACH: Errno = Errno::EHOSTUNREACH;
    pub const EALREADY: Errno = Errno::EALREADY;
    pub const EINPROGRESS: Errno = Errno::EINPROGRESS;
    pub const ESTALE: Errno = Errno::ESTALE;
    pub const EUCLEAN: Errno = Errno::EUCLEAN;
    pub const ENOTNAM: Errno = Errno::ENOTNAM;
    pub const ENAVAIL: Errno = Errno::ENAVAIL;
    pub const EISNAM: Errno = Errno::EISNAM;
    pub const EREMOTEIO: Errno = Errno::EREMOTEIO;
    pub const EDQUOT: Errno = Errno::EDQUOT;
    pub const ENOMEDIUM: Errno = Errno::ENOMEDIUM;
    pub const EMEDIUMTYPE: Errno = Errno::EMEDIUMTYPE;
    pub const ECANCELED: Errno = Errno::ECANCELED;
    pub const ENOKEY: Errno = Errno::ENOKEY;
    pub const EKEYEXPIRED: Errno = Errno::EKEYEXPIRED;
    pub const EKEYREVOKED: Errno = Errno::EKEYREVOKED;
    pub const EKEYREJECTED: Errno = Errno::EKEYREJECTED;
    pub const EOWNERDEAD: Errno = Errno::EOWNERDEAD;
    pub const ENOTRECOVERABLE: Errno = Errno::ENOTRECOVERABLE;
    pub const ERFKILL: Errno = Errno::ERFKILL;
    pub const EHWPOISON: Errno = Errno::EHWPOISON;
    pub const ERESTARTSYS: Errno = Errno::ERESTARTSYS;
    pub const ERESTARTNOINTR: Errno = Errno::ERESTARTNOINTR;
    pub const ERESTARTNOHAND: Errno = Errno::ERESTARTNOHAND;
    pub const ENOIOCTLCMD: Errno = Errno::ENOIOCTLCMD;
    pub const ERESTART_RESTARTBLOCK: Errno = Errno::ERESTART_RESTARTBLOCK;
    pub const ENOTSUPP: Errno = Errno::ENOTSUPP;
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl core::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for e in Errno::ALL {
            assert_eq!(Errno::new(e.code()), Some(*e));
            assert_eq!(Errno::from_name(e.name()), Some(*e));
            assert!(!e.is_internal());
        }
        assert_eq!(Errno::EINVAL.as_return(), -22);
        assert_eq!(Errno::ALL.len(), 131, "1..=133 without 41 and 58");
        assert_eq!(Errno::new(41), None);
        assert_eq!(Errno::new(0), None);
        assert_eq!(Errno::from_return(-38), Some(Errno::ENOSYS));
        assert_eq!(Errno::from_return(5), None);
        assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert!(Errno::ERESTARTSYS.is_internal());
    }

    #[test]
    fn table_is_sorted() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
