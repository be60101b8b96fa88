"""The storage catalog (``storage-monitor.json``): filesystem corruption and shutdown, disk I/O.

Each positive case is a real kernel message (as /dev/kmsg gives it: no timestamp, no
``kernel:`` prefix), with the kernel source that prints it and the kernel generations it
covers. Each case runs in a fresh monitor, so a permanent rule's condition starts False.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalog.harness import bundled, findings

CONFIG = "storage-monitor.json"
NEGATIVE = Path(__file__).parent / "negative"

RO = "ReadonlyFilesystem"
XFS = "XfsShutdown"
DISK = "DiskFailure"

# (message, reason, condition): the one report a single problem line must give.
SINGLE_LINE: list[tuple[str, str, str]] = [
    # --- ReadonlyFilesystem ---------------------------------------------------------------
    # fs/ext4/super.c ext4_handle_error / __ext4_abort, ext4_msg(KERN_CRIT, ...): 3.x through 6.x.
    ("EXT4-fs (sda1): Remounting filesystem read-only", "FilesystemIsReadOnly", RO),
    ("EXT4-fs (nvme0n1p1): Remounting filesystem read-only", "FilesystemIsReadOnly", RO),
    ("EXT4-fs (dm-0): Remounting filesystem read-only", "FilesystemIsReadOnly", RO),
    # fs/reiserfs/journal.c reiserfs_abort -> reiserfs_info (old distributions).
    ("REISERFS (device sda3): Remounting filesystem read-only", "FilesystemIsReadOnly", RO),
    # fs/ext3/super.c ext3_handle_error and fs/ext2/super.c ext2_error (3.x), lower case.
    ("EXT3-fs (sdb1): error: remounting filesystem read-only", "FilesystemIsReadOnly", RO),
    ("EXT2-fs (sda1): error: remounting filesystem read-only", "FilesystemIsReadOnly", RO),
    # fs/btrfs/super.c btrfs_handle_error: "btrfs is forced readonly" (3.0-3.13),
    # btrfs_info(fs_info, "forced readonly") (3.14-5.x), with the state string in 6.x messages.c.
    ("btrfs is forced readonly", "FilesystemIsReadOnly", RO),
    ("BTRFS info (device sda1): forced readonly", "FilesystemIsReadOnly", RO),
    ("BTRFS info (device dm-0: state EA): forced readonly", "FilesystemIsReadOnly", RO),
    # fs/fat/misc.c __fat_fs_error and fs/exfat/misc.c __exfat_fs_error.
    ("FAT-fs (sda1): Filesystem has been set read-only", "FilesystemIsReadOnly", RO),
    ("exFAT-fs (sdc1): Filesystem has been set read-only", "FilesystemIsReadOnly", RO),
    # --- XfsShutdown ------------------------------------------------------------------------
    # fs/xfs/xfs_fsops.c xfs_do_force_shutdown, 3.x-5.4 wordings (two spaces after the period).
    ("XFS (sdb): Log I/O Error Detected.  Shutting down filesystem", "XfsHasShutdown", XFS),
    ("XFS (dm-0): Corruption of in-memory data detected.  Shutting down filesystem", "XfsHasShutdown", XFS),
    ("XFS (sda1): I/O Error Detected. Shutting down filesystem", "XfsHasShutdown", XFS),
    ("XFS (sdc): All device paths lost. Shutting down filesystem", "XfsHasShutdown", XFS),
    # 5.5-5.13: "%s (0x%x) detected at %pS (%s:%d). Shutting down filesystem".
    (
        "XFS (sdb): Log I/O error (0x2) detected at xlog_ioend_work+0x6e/0x70 [xfs] (fs/xfs/xfs_log.c:1296)."
        " Shutting down filesystem",
        "XfsHasShutdown",
        XFS,
    ),
    # 5.14+: one format with a trailing period, "why" one of several strings.
    (
        "XFS (nvme0n1p1): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x133/0x170 [xfs]"
        " (fs/xfs/xfs_trans.c:1097).  Shutting down filesystem.",
        "XfsHasShutdown",
        XFS,
    ),
    (
        "XFS (dm-3): Metadata I/O Error (0x1) detected at xfs_trans_read_buf_map+0x1e6/0x2d0 [xfs]"
        " (fs/xfs/xfs_trans_buf.c:296).  Shutting down filesystem.",
        "XfsHasShutdown",
        XFS,
    ),
    # xfs_do_force_shutdown's notice, printed first (3.x-5.13).
    (
        "XFS (sdb): xfs_do_force_shutdown(0x2) called from line 1196 of file fs/xfs/xfs_log.c.  "
        "Return address = 0xffffffffa02c1e2d",
        "XfsHasShutdown",
        XFS,
    ),
    (
        "XFS (dm-1): xfs_do_force_shutdown(0x8) called from line 985 of file fs/xfs/xfs_trans.c.  "
        "Return address = 0xffffffffc0d5335f",
        "XfsHasShutdown",
        XFS,
    ),
    # fs/xfs/xfs_log.c xlog_force_shutdown (5.19+).
    ("XFS (sda): Filesystem has been shut down due to log error (0x2).", "XfsHasShutdown", XFS),
    # fs/xfs/xfs_log.c xfs_log_worker after the log is shut down: EIO every 30 s (3.x: "error 5").
    ("XFS (vdb): xfs_log_force: error -5 returned.", "XfsHasShutdown", XFS),
    ("XFS (sdb1): xfs_log_force: error 5 returned.", "XfsHasShutdown", XFS),
    ("XFS: xfs_log_force: error -5 returned.", "XfsHasShutdown", XFS),
    # The advice line that always follows the shutdown ("umount" until 5.x, then "unmount").
    ("XFS (dm-0): Please umount the filesystem and rectify the problem(s)", "XfsHasShutdown", XFS),
    ("XFS (dm-3): Please unmount the filesystem and rectify the problem(s)", "XfsHasShutdown", XFS),
    # --- Ext4Error --------------------------------------------------------------------------
    # fs/ext4/super.c __ext4_error / __ext4_error_inode / __ext4_std_error: upstream pattern.
    (
        "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0",
        "Ext4Error",
        "",
    ),
    ("EXT4-fs error (device dm-0): ext4_journal_check_start:56: Detected aborted journal", "Ext4Error", ""),
    ("EXT4-fs error (device loop0) in ext4_reserve_inode_write:5774: Corrupt filesystem", "Ext4Error", ""),
    (
        "EXT4-fs error (device nvme0n1p2): ext4_validate_block_bitmap:390: comm kworker/u16:2: "
        "bg 1: bad block bitmap checksum",
        "Ext4Error",
        "",
    ),
    # fs/ext4/super.c ext4_commit_super (4.x+).
    ("EXT4-fs (dm-0): previous I/O error to superblock detected", "Ext4Error", ""),
    ("EXT4-fs (sda2): I/O error while writing superblock", "Ext4Error", ""),
    # fs/ext4/super.c print_daily_error_info: errors recorded and not yet fsck'd.
    ("EXT4-fs (sda1): error count since last fsck: 5", "Ext4Error", ""),
    ("EXT4-fs (sdb1): error count since last fsck: 494734", "Ext4Error", ""),
    # fs/ext4/page-io.c ext4_end_io_end / ext4_finish_bio.
    (
        "EXT4-fs (nvme0n1p1): failed to convert unwritten extents to written extents -- potential data loss!"
        "  (inode 1234, error -30)",
        "Ext4Error",
        "",
    ),
    # fs/ext4/inode.c ext4_writepages (4.x+) and ext4_da_writepages (3.x).
    (
        "EXT4-fs (sda1): ext4_writepages: jbd2_start: 9223372036854775807 pages, ino 1234; err -30",
        "Ext4Error",
        "",
    ),
    ("EXT4-fs (sdb1): ext4_da_writepages: jbd2_start: 1024 pages, ino 11; err -30", "Ext4Error", ""),
    # fs/ext4/inode.c mpage_map_and_submit_extent: lower case before 4.x, capital since.
    (
        "EXT4-fs (sdb2): delayed block allocation failed for inode 524328 at logical offset 0 "
        "with max blocks 1 with error 5",
        "Ext4Error",
        "",
    ),
    (
        "EXT4-fs (mmcblk0p1): Delayed block allocation failed for inode 2239 at logical offset 0 "
        "with max blocks 1 with error 117",
        "Ext4Error",
        "",
    ),
    # fs/ext4/super.c ext4_fill_super.
    ("EXT4-fs (sda1): group descriptors corrupted!", "Ext4Error", ""),
    ("EXT4-fs (sdb1): warning: mounting fs with errors, running e2fsck is recommended", "Ext4Error", ""),
    ("EXT4-fs (nvme0n1p5): unable to read superblock", "Ext4Error", ""),
    # fs/ext4/super.c ext4_load_journal (mount) and fs/jbd2/recovery.c: a journal that cannot be
    # replayed ("in log" up to 6.x, "in journal block %lu" since).
    ("EXT4-fs (loop0): error loading journal", "Ext4Error", ""),
    ("JBD2: Invalid checksum recovering block 4194315 in log", "Ext4Error", ""),
    ("JBD2: Invalid checksum recovering data block 8705 in log", "Ext4Error", ""),
    ("JBD2: Invalid checksum recovering data block 109704 in journal block 1234", "Ext4Error", ""),
    ("JBD2: recovery failed", "Ext4Error", ""),
    # --- Ext4Warning (upstream pattern) -----------------------------------------------------
    # fs/ext4/super.c __ext4_warning / __ext4_warning_inode.
    ("EXT4-fs warning (device sda1): ext4_dx_add_entry:2233: Directory index full!", "Ext4Warning", ""),
    (
        "EXT4-fs warning (device sdb8): ext4_end_bio:258: I/O error writing to inode 8520021 "
        "(offset 0 size 4096 starting block 155716958)",
        "Ext4Warning",
        "",
    ),
    # --- Ext3Error / Ext2Error --------------------------------------------------------------
    # fs/ext3/super.c ext3_error (3.x) and ext3_abort / ext3_msg("error: ...").
    ("EXT3-fs error (device sda1): ext3_lookup: deleted inode referenced: 1234", "Ext3Error", ""),
    ("EXT3-fs (sdb1): error: ext3_journal_start_sb: Detected aborted journal", "Ext3Error", ""),
    # fs/ext2/super.c ext2_error: 3.x "EXT2-fs (%s): error: %s: ...", 2.6 "EXT2-fs error (device ...)".
    ("EXT2-fs (sda1): error: ext2_lookup: deleted inode referenced: 12", "Ext2Error", ""),
    (
        "EXT2-fs error (device sdc1): ext2_check_page: bad entry in directory #2: rec_len is 0",
        "Ext2Error",
        "",
    ),
    # --- JournalAborted ---------------------------------------------------------------------
    # fs/jbd2/journal.c __jbd2_journal_abort_hard (and fs/jbd/journal.c for ext3).
    ("Aborting journal on device sda1-8.", "JournalAborted", ""),
    ("Aborting journal on device mmcblk0p2-8.", "JournalAborted", ""),
    ("Aborting journal on device dm-3.", "JournalAborted", ""),
    # fs/jbd2/journal.c jbd2_write_superblock: 3.x "I/O error detected", 4.x-5.x "Error %d detected",
    # 6.x "I/O error when updating".
    ("JBD2: Error -5 detected when updating journal superblock for sda1-8.", "JournalAborted", ""),
    ("JBD2: I/O error detected when updating journal superblock for sdb2-8.", "JournalAborted", ""),
    ("JBD2: I/O error when updating journal superblock for nvme0n1p2-8.", "JournalAborted", ""),
    ("JBD: I/O error detected when updating journal superblock for sda3.", "JournalAborted", ""),
    # fs/jbd/journal.c and fs/jbd2/journal.c log_wait_commit, KERN_EMERG.
    ("journal commit I/O error", "JournalAborted", ""),
    # --- XfsCorruption ----------------------------------------------------------------------
    # fs/xfs/xfs_error.c xfs_corruption_error (all versions).
    ("XFS (sdb1): Corruption detected. Unmount and run xfs_repair", "XfsCorruption", ""),
    # fs/xfs/xfs_error.c xfs_verifier_error / xfs_inode_verifier_error (3.16+, RHEL 7).
    (
        "XFS (dm-0): Metadata corruption detected at xfs_dinode_verify+0xa5/0x4f0 [xfs], "
        "inode 0x427b2d1 dinode",
        "XfsCorruption",
        "",
    ),
    (
        "XFS (dm-2): Metadata CRC error detected at xfs_agf_read_verify+0x70/0x120 [xfs], xfs_agf block 0x1",
        "XfsCorruption",
        "",
    ),
    (
        "XFS (dm-4): Metadata corruption detected at xfs_sb_write_verify+0x60/0x120 [xfs], xfs_sb block 0x0",
        "XfsCorruption",
        "",
    ),
    # fs/xfs/xfs_error.c xfs_error_report: XFS_WANT_CORRUPTED_* (<=5.4), XFS_IS_CORRUPT (5.5+).
    (
        "XFS (sda1): Internal error XFS_WANT_CORRUPTED_GOTO at line 1635 of file fs/xfs/libxfs/xfs_alloc.c.  "
        "Caller xfs_free_extent+0xaa/0x140 [xfs]",
        "XfsCorruption",
        "",
    ),
    (
        "XFS (dm-0): Internal error ltbno + ltlen > bno at line 1957 of file fs/xfs/libxfs/xfs_alloc.c.  "
        "Caller xfs_free_ag_extent+0x3f6/0x870 [xfs]",
        "XfsCorruption",
        "",
    ),
    (
        "XFS (dm-3): Internal error xfs_da_do_buf(1) at line 2136 of file fs/xfs/xfs_da_btree.c.  "
        "Caller 0xffffffffa0433f2e",
        "XfsCorruption",
        "",
    ),
    # Without a mount (old kernels, early mount failures) the prefix is a bare "XFS:".
    (
        "XFS: Internal error XFS_WANT_CORRUPTED_RETURN at line 341 of file fs/xfs/xfs_alloc.c.  "
        "Caller 0xffffffffa0189c3e",
        "XfsCorruption",
        "",
    ),
    # fs/xfs/xfs_log_recover.c xlog_recover_get_buf_lsn path: "Corruption warning" (4.x+).
    (
        "XFS (sdb): Corruption warning: Metadata has LSN (1:2345) ahead of current LSN (1:123). "
        "Please unmount and run xfs_repair (>= v4.3) to resolve.",
        "XfsCorruption",
        "",
    ),
    # --- XfsIOError -------------------------------------------------------------------------
    # fs/xfs/xfs_buf.c xfs_buf_ioerror_alert: 3.x, 4.x, 5.x+ (%pS caller) wordings.
    (
        'XFS (vda1): metadata I/O error: block 0x14985e0 ("xfs_trans_read_buf_map") error 5 numblks 8',
        "XfsIOError",
        "",
    ),
    (
        'XFS (sdb): metadata I/O error in "xfs_trans_read_buf_map" at daddr 0x2b8 len 8 error 5',
        "XfsIOError",
        "",
    ),
    (
        'XFS (dm-0): metadata I/O error in "xfs_imap_to_bp+0x5c/0x80 [xfs]" at daddr 0x8a66c0 len 32 error 5',
        "XfsIOError",
        "",
    ),
    # fs/xfs/xfs_log.c xlog_ioend_work (5.x+).
    ("XFS (dm-0): log I/O error -5", "XfsIOError", ""),
    # fs/xfs/xfs_aops.c xfs_destroy_ioend (4.x) and xfs_buf.c async write retry (4.x).
    ("XFS (sdb): writeback error on sector 1234567", "XfsIOError", ""),
    ("XFS (sdc1): Failing async write on buffer block 0x3a8c0. Retrying async write.", "XfsIOError", ""),
    # fs/xfs/libxfs/xfs_inode_buf.c xfs_imap_to_bp (4.x-5.x): an inode cluster could not be read.
    ("XFS (dm-11): xfs_imap_to_bp: xfs_trans_read_buf() returned error -117.", "XfsIOError", ""),
    # fs/xfs/xfs_log.c xfs_log_mount: the log cannot be replayed, the filesystem does not mount.
    ("XFS (dm-7): log mount/recovery failed: error -5", "XfsCorruption", ""),
    ("XFS (sda1): log mount/recovery failed: error -117", "XfsCorruption", ""),
    # --- XfsMemoryAllocationDeadlock ---------------------------------------------------------
    # fs/xfs/kmem.c kmem_alloc / xfs_buf.c xfs_buf_allocate_memory: bare (2.6-3.x), then with
    # "comm(pid)" and "size N" (3.x-5.x); lowercase "xfs:" on 2.6.9.
    (
        "XFS: possible memory allocation deadlock in kmem_alloc (mode:0x250)",
        "XfsMemoryAllocationDeadlock",
        "",
    ),
    (
        "XFS: possible memory allocation deadlock in xfs_buf_allocate_memory (mode:0x250)",
        "XfsMemoryAllocationDeadlock",
        "",
    ),
    (
        "XFS: fs_mark(3289) possible memory allocation deadlock size 65624 in kmem_alloc (mode:0x2408240)",
        "XfsMemoryAllocationDeadlock",
        "",
    ),
    ("xfs: possible memory allocation deadlock in kmem_alloc (mode:0xd0)", "XfsMemoryAllocationDeadlock", ""),
    # --- BtrfsError -------------------------------------------------------------------------
    # fs/btrfs/volumes.c btrfs_dev_stat_print_on_error: btrfs_err_rl (4.x+), "btrfs:" (3.x).
    (
        "BTRFS error (device sda1): bdev /dev/sda1 errs: wr 0, rd 0, flush 0, corrupt 1, gen 0",
        "BtrfsError",
        "",
    ),
    ("btrfs: bdev /dev/sdb errs: wr 1, rd 0, flush 0, corrupt 0, gen 0", "BtrfsError", ""),
    # fs/btrfs/tree-checker.c (4.15+) and disk-io.c (older): corrupt leaf/node.
    (
        "BTRFS critical (device sda1): corrupt leaf: root=2 block=29540352 slot=38, unexpected item end, "
        "have 15981 expect 16003",
        "BtrfsError",
        "",
    ),
    (
        "BTRFS critical (device dm-0): corrupt node: root=1 block=13631488 slot=0, invalid NULL node pointer",
        "BtrfsError",
        "",
    ),
    # fs/btrfs/super.c __btrfs_std_error (3.2-3.13), __btrfs_handle_fs_error (4.x-5.x), messages.c (6.x).
    ("BTRFS error (device sdb1) in btrfs_run_delayed_refs:2730: IO failure", "BtrfsError", ""),
    ("BTRFS: error (device sda1) in btrfs_commit_transaction:2278: errno=-5 IO failure", "BtrfsError", ""),
    (
        "BTRFS: error (device dm-0: state A) in __btrfs_free_extent:3072: errno=-2 No such entry",
        "BtrfsError",
        "",
    ),
    # fs/btrfs/disk-io.c verify_parent_transid: bare (3.10), "BTRFS (device" (3.14), btrfs_err_rl (4.x+),
    # "on logical ... mirror" (6.x).
    ("parent transid verify failed on 29589504 wanted 8 found 7", "BtrfsError", ""),
    ("BTRFS (device sdb1): parent transid verify failed on 1234 wanted 5 found 4", "BtrfsError", ""),
    ("BTRFS error (device dm-0): parent transid verify failed on 1234 wanted 5 found 4", "BtrfsError", ""),
    (
        "BTRFS error (device sda2): parent transid verify failed on logical 30572544 mirror 1 "
        "wanted 25 found 21",
        "BtrfsError",
        "",
    ),
    # fs/btrfs/transaction.h btrfs_abort_transaction: WARN text, and btrfs_err when no stack is printed.
    ("BTRFS: Transaction aborted (error -28)", "BtrfsError", ""),
    ("BTRFS error (device sda1: state A): Transaction aborted (error -5)", "BtrfsError", ""),
    # fs/btrfs/inode.c btrfs_print_data_csum_error (5.x+), 4.x, and 3.x wordings.
    (
        "BTRFS warning (device sda1): csum failed root 5 ino 257 off 0 csum 0x98f94189 "
        "expected csum 0x00000000 mirror 1",
        "BtrfsError",
        "",
    ),
    (
        "BTRFS warning (device dm-1): csum failed ino 257 off 4096 csum 2566472073 expected csum 0",
        "BtrfsError",
        "",
    ),
    ("btrfs csum failed ino 257 off 0 csum 2566472073 private 1234", "BtrfsError", ""),
    # fs/btrfs/scrub.c: a bad copy found by scrub.
    (
        "BTRFS warning (device sdb): checksum error at logical 1104150528 on dev /dev/sdb, "
        "physical 1104150528, root 5, inode 258, offset 0, length 4096, links 1 (path: data.img)",
        "BtrfsError",
        "",
    ),
    # fs/btrfs/disk-io.c btree_read_extent_buffer_pages.
    ("BTRFS error (device sda3): bad tree block start, want 1234 have 0", "BtrfsError", ""),
    # fs/btrfs/inode.c btrfs_end_dio_bio (4.x-5.x).
    (
        "BTRFS warning (device dm-0): direct IO failed ino 4077816 rw 0,0 sector 0x3660bb80 len 4096 "
        "err no 10",
        "BtrfsError",
        "",
    ),
    # --- IOError ----------------------------------------------------------------------------
    # fs/buffer.c buffer_io_error: 4.x+ "dev ..., <what>" and 3.x "device ...".
    ("Buffer I/O error on dev sda1, logical block 0, async page read", "IOError", ""),
    ("Buffer I/O error on dev dm-0, logical block 25198592, lost sync page write", "IOError", ""),
    ("Buffer I/O error on dev nvme0n1p2, logical block 557056, lost async page write", "IOError", ""),
    ("Buffer I/O error on device sdb1, logical block 123", "IOError", ""),
    # fs/buffer.c end_buffer_write_sync / end_buffer_async_write (3.x).
    ("lost page write due to I/O error on dm-0", "IOError", ""),
    # fs/iomap/buffered-io.c iomap_finish_ioend (5.x+).
    ("vda3: writeback error on inode 25320400, offset 2097152, sector 58684120", "IOError", ""),
    # fs/jbd2/commit.c jbd2_journal_commit_transaction: file data writeback failed.
    ("JBD2: Detected IO errors while flushing file data on sdb2-8", "IOError", ""),
    # drivers/block/loop.c lo_write_bvec (up to 4.x) and mm/page_io.c: I/O errors of a loop
    # device's backing file and of swap.
    ("loop: Write error at byte offset 673349632, length 4096.", "IOError", ""),
    ("Read-error on swap-device (254:1:78162624)", "IOError", ""),
    ("Write-error on swap-device (8:3:2048)", "IOError", ""),
    # --- BlockIOError -----------------------------------------------------------------------
    # block/blk-core.c: 3.x end_request, 4.x blk_update_request, 4.18-5.0 print_req_error.
    ("end_request: I/O error, dev sda, sector 1234", "BlockIOError", ""),
    ("end_request: critical medium error, dev sdb, sector 976773160", "BlockIOError", ""),
    ("blk_update_request: I/O error, dev sda, sector 142870528", "BlockIOError", ""),
    ("blk_update_request: critical medium error, dev sdb, sector 1193046", "BlockIOError", ""),
    ("blk_update_request: critical target error, dev sdc, sector 209715064", "BlockIOError", ""),
    ("blk_update_request: critical nexus error, dev sdd, sector 2048", "BlockIOError", ""),
    ("blk_update_request: timeout error, dev sde, sector 8", "BlockIOError", ""),
    ("print_req_error: I/O error, dev nvme0n1, sector 3567", "BlockIOError", ""),
    ("print_req_error: I/O error, dev nvme0n1, sector 3567 flags 100001", "BlockIOError", ""),
    # 5.3-5.15 (caller + op/flags) and 5.16+/6.x (no caller).
    (
        "blk_update_request: I/O error, dev sda, sector 1837056 op 0x1:(WRITE) flags 0x800 "
        "phys_seg 1 prio class 0",
        "BlockIOError",
        "",
    ),
    (
        "I/O error, dev sda, sector 1234 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0",
        "BlockIOError",
        "",
    ),
    ("I/O error, dev nvme1n1, sector 499204104 op 0x1:(WRITE) flags 0x0", "BlockIOError", ""),
    (
        "critical medium error, dev nvme0n1, sector 123456 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2",
        "BlockIOError",
        "",
    ),
    (
        "recoverable transport error, dev sdf, sector 0 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0",
        "BlockIOError",
        "",
    ),
    # --- DiskMediumError / DiskHardwareError (drivers/scsi/scsi_logging.c, constants.c) ------
    ("sd 0:0:0:0: [sda] tag#0 Sense Key : Medium Error [current]", "DiskMediumError", ""),
    ("sd 2:0:0:0: [sdb] tag#12 Sense Key : Medium Error [current] [descriptor]", "DiskMediumError", ""),
    ("sd 2:0:0:0: [sdb]  Sense Key : Medium Error [current] [descriptor]", "DiskMediumError", ""),
    ("sd 0:0:1:0: [sdb] tag#3 Sense Key : Hardware Error [current]", "DiskHardwareError", ""),
    ("sd 4:0:0:0: [sdc]  Sense Key : Hardware Error [current] [descriptor]", "DiskHardwareError", ""),
    # Kernels built without CONFIG_SCSI_CONSTANTS print the sense key as a number.
    ("sd 0:0:0:0: [sda] tag#0 Sense Key : 0x3 [current] ", "DiskMediumError", ""),
    ("sd 2:0:1:0: [sdb] tag#7 Sense Key : 0x4 [current] ", "DiskHardwareError", ""),
    # --- ScsiCommandFailed (drivers/scsi/scsi_lib.c scsi_io_completion) ----------------------
    (
        "sd 0:0:0:0: [sda] tag#5 FAILED Result: hostbyte=DID_BAD_TARGET driverbyte=DRIVER_OK",
        "ScsiCommandFailed",
        "",
    ),
    (
        "sd 2:0:0:0: [sdb] tag#23 FAILED Result: hostbyte=DID_TIME_OUT driverbyte=DRIVER_OK cmd_age=180s",
        "ScsiCommandFailed",
        "",
    ),
    (
        "sd 1:0:0:0: [sdb] tag#0 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_TIMEOUT",
        "ScsiCommandFailed",
        "",
    ),
    # 3.x prints the result on its own line after "Unhandled error code"; numbers without constants.
    ("sd 1:0:0:0: [sdb]  Result: hostbyte=DID_BAD_TARGET driverbyte=DRIVER_OK", "ScsiCommandFailed", ""),
    ("sd 0:0:0:0: [sda]  Result: hostbyte=0x07 driverbyte=0x00", "ScsiCommandFailed", ""),
    ("scsi 0:0:0:0: [sda] Unhandled error code", "ScsiCommandFailed", ""),
    ("sd 2:0:0:0: [sdb] Unhandled sense code", "ScsiCommandFailed", ""),
    # Kernels without CONFIG_SCSI_CONSTANTS (Raspberry Pi, OpenWrt): driverbyte 0x06 is DRIVER_TIMEOUT.
    (
        "sd 1:0:0:0: [sda] tag#14 UNKNOWN(0x2003) Result: hostbyte=0x00 driverbyte=0x06 cmd_age=30s",
        "ScsiCommandFailed",
        "",
    ),
    (
        "sd 3:0:0:0: [sdc] tag#8 FAILED Result: hostbyte=DID_NO_CONNECT driverbyte=DRIVER_OK",
        "ScsiCommandFailed",
        "",
    ),
    # --- ScsiCommandTimeout (drivers/scsi/scsi_lib.c scsi_softirq_done / scsi_complete) ------
    ("sd 1:0:0:0: timing out command, waited 180s", "ScsiCommandTimeout", ""),
    ("sd 0:0:0:0: timing out command, waited 1080s", "ScsiCommandTimeout", ""),
    # --- AtaError (drivers/ata/libata-eh.c ata_eh_link_report, libata-sata.c/libata-core.c) ---
    ("ata1.00: exception Emask 0x0 SAct 0x0 SErr 0x0 action 0x6 frozen", "AtaError", ""),
    ("ata3.00: exception Emask 0x0 SAct 0x80000 SErr 0x0 action 0x0", "AtaError", ""),
    ("ata1: exception Emask 0x10 SAct 0x0 SErr 0x4050000 action 0xe frozen", "AtaError", ""),
    ("ata2: COMRESET failed (errno=-16)", "AtaError", ""),
    ("ata1: COMRESET failed (errno=-19)", "AtaError", ""),
    ("ata2.00: revalidation failed (errno=-5)", "AtaError", ""),
    # --- NvmeTimeout (drivers/nvme/host/pci.c nvme_timeout) ----------------------------------
    ("nvme nvme0: I/O 123 QID 4 timeout, aborting", "NvmeTimeout", ""),
    ("nvme nvme0: I/O 5 QID 0 timeout, reset controller", "NvmeTimeout", ""),
    ("nvme nvme1: I/O 12 QID 3 timeout, completion polled", "NvmeTimeout", ""),
    ("nvme nvme3: I/O 0 QID 0 timeout, disable controller", "NvmeTimeout", ""),
    ("nvme 0000:01:00.0: I/O 5 QID 1 timeout, aborting", "NvmeTimeout", ""),
    ("nvme nvme0: I/O 1 (I/O Cmd) QID 2 timeout, aborting", "NvmeTimeout", ""),
    (
        "nvme nvme0: I/O tag 792 (4318) opcode 0x1 (I/O Cmd) QID 3 timeout, aborting "
        "req_op:WRITE(1) size:20480",
        "NvmeTimeout",
        "",
    ),
    ("nvme 0000:02:00.0: Timeout I/O 642 QID 1", "NvmeTimeout", ""),
    # drivers/nvme/host/tcp.c nvme_tcp_timeout (5.x, 6.x).
    ("nvme nvme2: queue 3: timeout request 0x1a type 4", "NvmeTimeout", ""),
    # --- NvmeControllerError (pci.c nvme_warn_reset, core.c nvme_wait_ready / nvme_configure_apst) ---
    (
        "nvme nvme0: controller is down; will reset: CSTS=0xffffffff, PCI_STATUS=0xffff",
        "NvmeControllerError",
        "",
    ),
    ("nvme nvme0: controller is down; will reset: CSTS=0x3, PCI_STATUS=0x10", "NvmeControllerError", ""),
    (
        "nvme nvme0: controller is down; will reset: CSTS=0xffffffff, PCI_STATUS read failed (134)",
        "NvmeControllerError",
        "",
    ),
    ("nvme nvme0: Device not ready; aborting reset, CSTS=0x1", "NvmeControllerError", ""),
    ("nvme nvme1: Device not ready; aborting initialisation, CSTS=0x0", "NvmeControllerError", ""),
    ("nvme nvme1: failed to set APST feature (-19)", "NvmeControllerError", ""),
    # pci.c nvme_watchdog (4.4-4.9) and nvme_error_detected (AER/EEH froze the PCI channel).
    ("nvme 0000:01:00.0: Failed status: ffffffff, reset controller", "NvmeControllerError", ""),
    ("nvme nvme1: frozen state error detected, reset controller", "NvmeControllerError", ""),
    # --- NvmeIOError (drivers/nvme/host/core.c nvme_log_error, 5.18+) ------------------------
    ("nvme0n1: I/O Cmd(0x2) @ LBA 1234, 8 blocks, I/O Error (sct 0x2 / sc 0x81)", "NvmeIOError", ""),
    (
        "nvme0n1: Read(0x2) @ LBA 1234, 8 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) DNR",
        "NvmeIOError",
        "",
    ),
    ("nvme1n1: Write(0x1) @ LBA 40960, 256 blocks, Write Fault (sct 0x2 / sc 0x80) DNR", "NvmeIOError", ""),
    ("nvme0n1: Read(0x2) @ LBA 0, 8 blocks, Data Transfer Error (sct 0x0 / sc 0x4)", "NvmeIOError", ""),
    # --- DiskFailure ------------------------------------------------------------------------
    # drivers/scsi/scsi_lib.c scsi_device_state_check / scsi_prep_state_check; scsi_error.c.
    ("sd 0:0:0:0: rejecting I/O to offline device", "ScsiDeviceOffline", DISK),
    ("scsi 2:0:0:0: rejecting I/O to offline device", "ScsiDeviceOffline", DISK),
    ("sd 0:0:0:0: Device offlined - not ready after error recovery", "ScsiDeviceOffline", DISK),
    ("scsi 1:0:0:0: Device offlined - not ready after error recovery", "ScsiDeviceOffline", DISK),
    # drivers/scsi/sd.c sd_setup_read_write_cmnd: I/O refused before it is sent.
    ("sd 0:0:0:0: [sda] tag#0 device offline or changed", "ScsiDeviceOffline", DISK),
    ("sd 6:0:0:0: [sdc] device offline or changed", "ScsiDeviceOffline", DISK),
    # drivers/ata/libata-core.c ata_dev_disable.
    ("ata1.00: disabled", "AtaDeviceDisabled", DISK),
    ("ata4.00: disabled", "AtaDeviceDisabled", DISK),
    # drivers/nvme/host/pci.c nvme_remove_dead_ctrl (4.x-5.x) and nvme_reset_work (6.x).
    ("nvme nvme0: Removing after probe failure status: -19", "NvmeControllerRemoved", DISK),
    ("nvme nvme1: Disabling device after reset failure: -19", "NvmeControllerRemoved", DISK),
    # drivers/md/raid1.c raid1_error, raid10.c, raid5.c: dmesg shows two lines, /dev/kmsg one
    # record with the newline escaped.
    ("md/raid1:md0: Disk failure on sdb1, disabling device.", "RaidDiskFailed", DISK),
    (
        "md/raid1:md127: Disk failure on nvme1n1p3, disabling device.\\x0a"
        "md/raid1:md127: Operation continuing on 1 devices.",
        "RaidDiskFailed",
        DISK,
    ),
    # The journal stores the same record with the newline unescaped.
    (
        "md/raid1:md0: Disk failure on sda2, disabling device.\n"
        "md/raid1:md0: Operation continuing on 1 devices.",
        "RaidDiskFailed",
        DISK,
    ),
    ("md/raid:md1: Disk failure on sdc, disabling device.", "RaidDiskFailed", DISK),
    ("md/raid10:md2: Operation continuing on 3 devices.", "RaidDiskFailed", DISK),
    # 2.6.x-3.x: "raid1: ..." without the array name.
    ("raid1: Disk failure on sdb1, disabling device.", "RaidDiskFailed", DISK),
    ("raid1: Operation continuing on 1 devices.", "RaidDiskFailed", DISK),
    # The last member failed (raid1, 5.19+) or too many failed (raid4/5/6): the array is down.
    (
        "md/raid1:md0: Disk failure on sdb1, this is the last device.\n"
        "md/raid1:md0: Cannot continue operation (1/2 failed).",
        "RaidDiskFailed",
        DISK,
    ),
    ("md/raid:md1: Cannot continue operation (2/4 failed).", "RaidDiskFailed", DISK),
]


@pytest.mark.parametrize(("line", "reason", "condition"), SINGLE_LINE, ids=lambda value: str(value)[:60])
def test_problem_line_gives_one_report(line: str, reason: str, condition: str) -> None:
    found = findings(CONFIG, [line])
    assert [(f.reason, f.condition) for f in found] == [(reason, condition)]
    if condition:
        assert f"reason: {reason}," in found[0].message
    else:
        assert found[0].message == line


# Whole incidents as the kernel prints them: each gives the reports listed, no more.
INCIDENTS: list[tuple[str, list[str], list[tuple[str, str]]]] = [
    (
        # 3.x XFS log write failure: the notice, the shutdown line and the advice are one condition.
        "xfs-log-io-error-3x",
        [
            'XFS (sdb1): metadata I/O error: block 0x1d1c8 ("xlog_iodone") error 5 numblks 64',
            "XFS (sdb1): xfs_do_force_shutdown(0x2) called from line 1180 of file fs/xfs/xfs_log.c.  "
            "Return address = 0xffffffffa00f31a9",
            "XFS (sdb1): Log I/O Error Detected.  Shutting down filesystem",
            "XFS (sdb1): Please umount the filesystem and rectify the problem(s)",
            "XFS (sdb1): xfs_log_force: error -5 returned.",
            "XFS (sdb1): xfs_log_force: error -5 returned.",
        ],
        [("XfsIOError", ""), ("XfsHasShutdown", XFS)],
    ),
    (
        # 6.x: the hex dump and "Unmount and run xfs_repair" follow the verifier line silently.
        "xfs-verifier-6x",
        [
            "XFS (dm-2): Metadata corruption detected at xfs_inode_buf_verify+0x14d/0x160 [xfs], "
            "xfs_inode block 0x1b5c1c0 xfs_inode_buf_verify",
            "XFS (dm-2): Unmount and run xfs_repair",
            "XFS (dm-2): First 128 bytes of corrupted metadata buffer:",
            "00000000: 16 49 77 8a 32 7e 72 52 14 bb 51 98 7c a5 2c 9a  .Iw.2~rR..Q.|.,.",
        ],
        [("XfsCorruption", "")],
    ),
    (
        # ext4 on a dying disk (5.x): each layer reports once, the ext4 follow-ups stay silent.
        "ext4-disk-gone-5x",
        [
            "blk_update_request: critical target error, dev sda, sector 1837056 op 0x1:(WRITE) flags 0x800 "
            "phys_seg 1 prio class 0",
            "Buffer I/O error on dev sda2, logical block 196608, lost sync page write",
            "JBD2: Error -5 detected when updating journal superblock for sda2-8.",
            "EXT4-fs error (device sda2): ext4_journal_check_start:83: Detected aborted journal",
            "EXT4-fs (sda2): Remounting filesystem read-only",
            "EXT4-fs (sda2): This should not happen!! Data will be lost",
            "EXT4-fs (sda2): Remounting filesystem read-only",
        ],
        [
            ("BlockIOError", ""),
            ("IOError", ""),
            ("JournalAborted", ""),
            ("Ext4Error", ""),
            ("FilesystemIsReadOnly", RO),
        ],
    ),
    (
        # An ATA read error: one report from libata (the exception line), one from the SCSI disk
        # (the sense key), one from the block layer; the detail lines in between say nothing new.
        "ata-unc-4x",
        [
            "ata3.00: exception Emask 0x0 SAct 0x80000 SErr 0x0 action 0x0",
            "ata3.00: irq_stat 0x40000008",
            "ata3.00: failed command: READ FPDMA QUEUED",
            "ata3.00: cmd 60/08:98:e0:5d:8a/00:00:1c:00:00/40 tag 19 ncq dma 4096 in",
            "ata3.00: status: { DRDY ERR }",
            "ata3.00: error: { UNC }",
            "ata3.00: configured for UDMA/133",
            "sd 2:0:0:0: [sdb] tag#19 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_SENSE",
            "sd 2:0:0:0: [sdb] tag#19 Sense Key : Medium Error [current]",
            "sd 2:0:0:0: [sdb] tag#19 Add. Sense: Unrecovered read error - auto reallocate failed",
            "sd 2:0:0:0: [sdb] tag#19 CDB: Read(10) 28 00 1c 8a 5d e0 00 00 08 00",
            "blk_update_request: I/O error, dev sdb, sector 478830048",
            "ata3: EH complete",
        ],
        [("AtaError", ""), ("DiskMediumError", ""), ("BlockIOError", "")],
    ),
    (
        # The link keeps failing and libata gives the disk up: the condition turns once.
        "ata-link-dead",
        [
            "ata1: exception Emask 0x10 SAct 0x0 SErr 0x10000 action 0xe frozen",
            "ata1: SError: { PHYRdyChg }",
            "ata1: hard resetting link",
            "ata1: link is slow to respond, please be patient (ready=-19)",
            "ata1: COMRESET failed (errno=-19)",
            "ata1: reset failed, giving up",
            "ata1.00: disabled",
            "ata1.00: disabled",
        ],
        [("AtaError", ""), ("AtaError", ""), ("AtaDeviceDisabled", DISK)],
    ),
    (
        # The NVMe controller stops answering: timeouts, a failed reset, then it is removed.
        "nvme-dead-6x",
        [
            "nvme nvme0: I/O tag 588 (524c) opcode 0x1 (I/O Cmd) QID 1 timeout, aborting "
            "req_op:WRITE(1) size:40960",
            "nvme nvme0: I/O tag 588 (524c) opcode 0x1 (I/O Cmd) QID 1 timeout, reset controller",
            "nvme nvme0: Abort status: 0x371",
            "nvme nvme0: Device not ready; aborting reset, CSTS=0x1",
            "nvme nvme0: Disabling device after reset failure: -19",
            "nvme nvme0: Removing after probe failure status: -19",
        ],
        [
            ("NvmeTimeout", ""),
            ("NvmeTimeout", ""),
            ("NvmeControllerError", ""),
            ("NvmeControllerRemoved", DISK),
        ],
    ),
    (
        # A btrfs transaction abort: the WARN text, the fs error line, then read-only.
        "btrfs-abort",
        [
            "BTRFS: Transaction aborted (error -5)",
            "BTRFS: error (device sda1) in btrfs_commit_transaction:2278: errno=-5 IO failure",
            "BTRFS info (device sda1): forced readonly",
            "BTRFS warning (device sda1): Skipping commit of aborted transaction.",
        ],
        [("BtrfsError", ""), ("BtrfsError", ""), ("FilesystemIsReadOnly", RO)],
    ),
    (
        # An md mirror losing a member, as dmesg prints it: one condition change.
        "md-raid1-degraded",
        [
            "md/raid1:md0: Disk failure on sdb1, disabling device.",
            "md/raid1:md0: Operation continuing on 1 devices.",
        ],
        [("RaidDiskFailed", DISK)],
    ),
]


@pytest.mark.parametrize(
    ("lines", "expected"), [case[1:] for case in INCIDENTS], ids=[c[0] for c in INCIDENTS]
)
def test_incident_reports(lines: list[str], expected: list[tuple[str, str]]) -> None:
    assert [(f.reason, f.condition) for f in findings(CONFIG, lines)] == expected


# Lines that look close to a problem but are normal or deliberately left to another line.
NEAR_MISSES = [
    # Normal mounts and remounts, including an intended read-only remount (6.x wording).
    "EXT4-fs (sda1): mounted filesystem with ordered data mode. Opts: (null)",
    "EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro",
    "EXT4-fs (nvme0n1p1): re-mounted 2f1d6e3a-1c1b-4c3e-9a0e-6b1f1f0c2d3e ro. Quota mode: none.",
    "EXT4-fs (sda1): INFO: recovery required on readonly filesystem",
    "EXT4-fs (sda1): couldn't mount as ext3 due to feature incompatibilities",
    "EXT4-fs (sda1): warning: maximal mount count reached, running e2fsck is recommended",
    "EXT4-fs error: 5 callbacks suppressed",
    # ext4 follow-ups of the "error count" report and of a delayed allocation failure.
    "EXT4-fs (sda1): initial error at time 1557931133: ext4_get_branch:171: inode 1980: block 27550",
    "EXT4-fs (sda1): last error at time 1558114349: ext4_get_branch:171: inode 1980: block 27550",
    "EXT4-fs (sdb2): This should not happen!! Data will be lost",
    # XFS follow-ups and normal lines.
    "XFS (dm-2): Unmount and run xfs_repair",
    "XFS (dm-2): First 128 bytes of corrupted metadata buffer:",
    "XFS (sda1): Mounting V5 Filesystem",
    "XFS (sda1): Ending clean mount",
    "XFS (dm-2): Deprecated V4 format (crc=0) will not be supported after September 2030.",
    # btrfs: historical error counters reported at mount, a corrected read, cache rebuilds.
    "BTRFS info (device sda1): bdev /dev/sda1 errs: wr 0, rd 0, flush 0, corrupt 3, gen 0",
    "BTRFS info (device sda1): read error corrected: ino 257 off 0 (dev /dev/sda1 sector 2048)",
    "BTRFS error (device sdb): space cache generation (1234) does not match inode (1230)",
    "BTRFS warning (device sda1): lost page write due to IO error on /dev/sda1 (-5)",
    "BTRFS info (device sda2): scrub: finished on devid 1 with status: 0",
    # Empty virtual floppy and CD-ROM drives fail reads on VMs at every boot.
    "Buffer I/O error on dev fd0, logical block 0, async page read",
    "blk_update_request: I/O error, dev fd0, sector 0",
    "end_request: I/O error, dev fd0, sector 0",
    "Buffer I/O error on dev sr0, logical block 0, async page read",
    "I/O error, dev sr0, sector 0 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2",
    # Unsupported commands and reservations are not disk faults.
    "blk_update_request: operation not supported error, dev loop0, sector 0 op 0x9:(WRITE_ZEROES) flags 0x0",
    "reservation conflict error, dev sdb, sector 0 op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0",
    # SCSI: sense data with a benign key, a DID_OK result whose sense line reports, a cache sync on detach.
    "sd 0:0:0:0: [sda] tag#0 Sense Key : Unit Attention [current]",
    "sd 0:0:0:0: [sda] tag#0 Add. Sense: Capacity data has changed",
    "sd 2:0:1:0: [sdb] tag#1 Sense Key : Illegal Request [current]",
    "sr 1:0:0:0: [sr0] tag#0 Sense Key : Not Ready [current]",
    "sd 2:0:0:0: [sdb] tag#19 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_SENSE",
    "sd 2:0:1:0: [sdb] tag#7 UNKNOWN(0x2003) Result: hostbyte=0x00 driverbyte=0x08",
    "sd 2:0:1:0: [sdb] tag#7 ASC=0x44 ASCQ=0x0 ",
    "sd 2:0:0:0: [sdb] tag#19 Add. Sense: Unrecovered read error - auto reallocate failed",
    "sd 0:0:0:0: [sda] Synchronize Cache(10) failed: Result: hostbyte=DID_BAD_TARGET driverbyte=DRIVER_OK",
    # ATA: empty ports, link up, splat detail lines and recovery steps.
    "ata5: SATA link down (SStatus 0 SControl 300)",
    "ata1: SATA link up 6.0 Gbps (SStatus 133 SControl 300)",
    "ata1.00: status: { DRDY ERR }",
    "ata1.00: error: { UNC }",
    "ata3.00: failed command: READ FPDMA QUEUED",
    "ata1: hard resetting link",
    "ata1: link is slow to respond, please be patient (ready=0)",
    "ata1.00: NCQ disabled due to excessive errors",
    # NVMe: normal probe lines, the abort completion, an APST status (not an errno).
    "nvme nvme0: pci function 0000:00:04.0",
    "nvme nvme0: 2/0/0 default/read/poll queues",
    "nvme nvme0: missing or invalid SUBNQN field.",
    "nvme nvme0: Shutdown timeout set to 8 seconds",
    "nvme nvme0: Abort status: 0x0",
    "nvme nvme1: failed to set APST feature (2)",
    "nvme0: Admin Cmd(0x6), Invalid Field in Command (sct 0x0 / sc 0x2) DNR",
    "nvme0n1: Write Zeroes(0x8) @ LBA 0, 8 blocks, Invalid Field in Command (sct 0x0 / sc 0x2) DNR",
    # md: a healthy array.
    "md/raid1:md0: active with 2 out of 2 mirrors",
    "md/raid:md1: device sdc operational as raid disk 2",
    # FAT boot partition after an unclean shutdown: advice only.
    "FAT-fs (sda1): Volume was not properly unmounted. Some data may be corrupt. Please run fsck.",
]


@pytest.mark.parametrize("line", NEAR_MISSES, ids=lambda value: value[:60])
def test_near_miss_does_not_fire(line: str) -> None:
    assert findings(CONFIG, [line]) == []


def _negative_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_storage_negative_corpus_is_substantial() -> None:
    assert len(_negative_lines(NEGATIVE / "storage.txt")) >= 40


def test_every_reason_has_a_positive_case() -> None:
    tested = {reason for _, reason, _ in SINGLE_LINE}
    assert {rule.reason for rule in bundled(CONFIG).rules} == tested


def test_upstream_compatibility() -> None:
    config = bundled(CONFIG)
    defaults = {c.type: (c.reason, c.message) for c in config.conditions}
    assert defaults["ReadonlyFilesystem"] == ("FilesystemIsNotReadOnly", "Filesystem is not read-only")
    assert defaults["XfsShutdown"] == ("XfsHasNotShutDown", "XFS has not shutdown")
    patterns = {(rule.reason, rule.pattern) for rule in config.rules}
    assert ("FilesystemIsReadOnly", ".*Remounting filesystem read-only") in patterns
    assert ("XfsHasShutdown", "XFS \\(.+\\): .*Shutting down filesystem\\.?") in patterns
    assert ("Ext4Error", "EXT4-fs error .*") in patterns
    assert ("Ext4Warning", "EXT4-fs warning .*") in patterns
    assert config.source == "storage-monitor"


def test_repeated_permanent_reason_reports_once() -> None:
    lines = ["sd 0:0:0:0: rejecting I/O to offline device"] * 5
    assert [f.reason for f in findings(CONFIG, lines)] == ["ScsiDeviceOffline"]
