//! The files of /sys that programs read to learn what the memory manager
//! supports: /sys/kernel/mm/transparent_hugepage (mm/huge_memory.c's and
//! khugepaged's sysfs attributes), as Linux 6.18 on x86-64 shows them when
//! THP is `never` (the engine has no huge pages; the native side of
//! `vmm compare` turns THP off for the same reason).
//!
//! Owns the paths and their contents, in one place for the VFS's sysfs to
//! take over: `DIRS` are made at boot under /sys (so the directories exist
//! for stat and path walks), `file` gives an attribute's text by path. The
//! attributes are read-only here: Linux lets root write them (that changes
//! a setting), the guest cannot yet (EACCES); readdir does not list them.
//! What is reported: `enabled` and `shmem_enabled` never, per-size
//! `enabled` never (inherit for the PMD size, as Linux's defaults), the
//! PMD size, the zero page in use, khugepaged's defaults. No hugetlb:
//! /sys/kernel/mm/hugepages does not exist (a kernel without hugetlbfs).

/// The THP directory.
const THP: &str = "/sys/kernel/mm/transparent_hugepage";

/// The directories below /sys, parents first.
pub const DIRS: &[&str] = &[
    "/sys/kernel",
    "/sys/kernel/mm",
    "/sys/kernel/mm/transparent_hugepage",
    "/sys/kernel/mm/transparent_hugepage/khugepaged",
    "/sys/kernel/mm/transparent_hugepage/hugepages-8kB",
    "/sys/kernel/mm/transparent_hugepage/hugepages-16kB",
    "/sys/kernel/mm/transparent_hugepage/hugepages-32kB",
    "/sys/kernel/mm/transparent_hugepage/hugepages-64kB",
    "/sys/kernel/mm/transparent_hugepage/hugepages-128kB",
    "/sys/kernel/mm/transparent_hugepage/hugepages-256kB",
    "/sys/kernel/mm/transparent_hugepage/hugepages-512kB",
    "/sys/kernel/mm/transparent_hugepage/hugepages-1024kB",
    "/sys/kernel/mm/transparent_hugepage/hugepages-2048kB",
];

/// HPAGE_PMD_SIZE on x86-64.
const PMD_SIZE_KB: u64 = 2048;

/// The text of the sysfs attribute at `path` (canonical, absolute), if it is one.
pub fn file(path: &str) -> Option<String> {
    let rel = path.strip_prefix(THP)?.strip_prefix('/')?;
    let text = match rel {
        "enabled" => "always madvise [never]",
        "defrag" => "always defer defer+madvise [madvise] never",
        "shmem_enabled" => "always within_size advise [never] deny force",
        "use_zero_page" => "1",
        "hpage_pmd_size" => return Some(format!("{}\n", PMD_SIZE_KB * 1024)),
        "shrink_underused" => "1",
        "khugepaged/defrag" => "1",
        "khugepaged/alloc_sleep_millisecs" => "60000",
        "khugepaged/scan_sleep_millisecs" => "10000",
        "khugepaged/max_ptes_none" => "511",
        "khugepaged/max_ptes_swap" => "64",
        "khugepaged/max_ptes_shared" => "256",
        "khugepaged/pages_to_scan" => "4096",
        "khugepaged/full_scans" | "khugepaged/pages_collapsed" => "0",
        _ => {
            let (dir, attr) = rel.split_once('/')?;
            let kb: u64 = dir.strip_prefix("hugepages-")?.strip_suffix("kB")?.parse().ok()?;
            if !DIRS.contains(&format!("{THP}/{dir}").as_str()) {
                return None;
            }
            let pmd = kb == PMD_SIZE_KB;
            match attr {
                // Anonymous mTHP starts at order 2: 8 KiB is shmem's only.
                "enabled" if kb == 8 => return None,
                "enabled" if pmd => "always [inherit] madvise never",
                "enabled" => "always inherit madvise [never]",
                "shmem_enabled" if pmd => "always [inherit] within_size advise never",
                "shmem_enabled" => "always inherit within_size advise [never]",
                _ => return None,
            }
        }
    };
    Some(format!("{text}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thp_reads_as_never_with_linux_sizes_and_defaults() {
        assert_eq!(file("/sys/kernel/mm/transparent_hugepage/enabled").as_deref(), Some("always madvise [never]\n"));
        assert_eq!(file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size").as_deref(), Some("2097152\n"));
        assert_eq!(
            file("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled").as_deref(),
            Some("always [inherit] madvise never\n")
        );
        assert_eq!(file("/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled").as_deref(), Some("always inherit madvise [never]\n"));
        assert_eq!(file("/sys/kernel/mm/transparent_hugepage/hugepages-8kB/enabled"), None);
        assert!(file("/sys/kernel/mm/transparent_hugepage/hugepages-8kB/shmem_enabled").is_some());
        assert_eq!(file("/sys/kernel/mm/transparent_hugepage/hugepages-4096kB/enabled"), None);
        assert_eq!(file("/sys/kernel/mm/transparent_hugepage"), None);
        assert_eq!(file("/sys/kernel/mm/transparent_hugepagex/enabled"), None);
        assert_eq!(file("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), None);
    }
}
