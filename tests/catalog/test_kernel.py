"""The kernel core monitor: hung tasks, lockups, RCU stalls, OOM kills, oopses, panics, clocksource.

Each positive case is a /dev/kmsg message (no timestamp, no ``kernel:`` prefix); the comment
above a group names the kernel source file and the versions the wording comes from. Unless a
case says otherwise, one problem line gives exactly one report.
"""

from __future__ import annotations

import pytest

from npd.goregex import analyze
from tests.catalog.harness import bundled, findings, reasons

CONFIG = "kernel-monitor.json"
DEADLOCK = "KernelDeadlock"

# (message, the reason it must report); every one of these is a temporary event.
EVENTS: list[tuple[str, str]] = [
    # kernel/hung_task.c check_hung_task(): "INFO: task %s:%d blocked for more than %ld seconds."
    # from 2.6.30 to 6.x (3.10 RHEL 7, 4.15 Ubuntu, 6.1 Debian); the comm may hold "/" and ":".
    ("INFO: task xfsaild/dm-3:1234 blocked for more than 120 seconds.", "TaskHung"),
    ("INFO: task kworker/u16:2:123 blocked for more than 120 seconds.", "TaskHung"),
    ("INFO: task jbd2/sda1-8:321 blocked for more than 122 seconds.", "TaskHung"),
    ("INFO: task java:28417 blocked for more than 245 seconds.", "TaskHung"),
    ("INFO: task runc:[2:INIT]:4411 blocked for more than 120 seconds.", "TaskHung"),
    # kernel/watchdog.c watchdog_timer_fn(): 3.x prints it bare, 4.4-4.14 under pr_fmt
    # "NMI watchdog: ", 4.15+ under "watchdog: " (6.x unchanged).
    ("BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:1234]", "SoftLockup"),
    ("NMI watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [java:2345]", "SoftLockup"),
    ("watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [stress-ng:1234]", "SoftLockup"),
    ("watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [swapper/0:0]", "SoftLockup"),
    # The same line as blogs and forums show it: typographic dash, a console-typed dot.
    ("NMI watchdog: BUG: soft lockup \u2013 CPU#0 stuck for 21s!", "SoftLockup"),
    ("watchdog: BUG: soft lockup. - CPU#7 stuck for 28s! -[gemu-ga:864]", "SoftLockup"),
    # kernel/softlockup.c before 2.6.26 (RHEL 5 era): must not fall through to KernelOops.
    ("BUG: soft lockup detected on CPU#1!", "SoftLockup"),
    # kernel/watchdog.c (3.x WARN message, or panic() text with hardlockup_panic),
    # kernel/watchdog_hld.c (4.13+ "NMI watchdog: " / "watchdog: "), nmi_panic(regs, "Hard LOCKUP"),
    # arch/powerpc/kernel/watchdog.c (self-detected / other CPUs).
    ("Watchdog detected hard LOCKUP on cpu 2", "HardLockup"),
    ("NMI watchdog: Watchdog detected hard LOCKUP on cpu 5", "HardLockup"),
    ("watchdog: Watchdog detected hard LOCKUP on cpu 12", "HardLockup"),
    ("Kernel panic - not syncing: Watchdog detected hard LOCKUP on cpu 5", "HardLockup"),
    ("Kernel panic - not syncing: Hard LOCKUP", "HardLockup"),
    ("watchdog: CPU 28 self-detected hard LOCKUP @ .do_raw_spin_lock+0x90/0x1d0", "HardLockup"),
    ("watchdog: CPU 2 detected hard LOCKUP on other CPUs 8-11", "HardLockup"),
    # arch/powerpc/kernel/watchdog.c as first merged (4.13-4.16): "Watchdog CPU:%d Hard LOCKUP".
    ("Watchdog CPU:59 Hard LOCKUP", "HardLockup"),
    # A pstore record glues the next record to the line.
    ("NMI watchdog: Watchdog detected hard LOCKUP on cpu 3dModules linked in:c binfmt_miscc", "HardLockup"),
    # kernel/rcutree.c / kernel/rcu/tree.c (3.x-4.x) and kernel/rcu/tree_stall.h (5.x+, pr_fmt
    # "rcu: "): print_cpu_stall(), print_other_cpu_stall(), expedited and RCU-tasks stalls.
    ("INFO: rcu_sched self-detected stall on CPU { 3}  (t=60000 jiffies g=1234 c=1233 q=0)", "RCUStall"),
    (
        "INFO: rcu_sched detected stalls on CPUs/tasks: { 19} (detected by 2, t=60002 jiffies, g=855, "
        "c=854, q=0)",
        "RCUStall",
    ),
    ("INFO: rcu_preempt detected stalls on CPUs/tasks:", "RCUStall"),
    ("INFO: rcu_sched_state detected stall on CPU 0 (t=15000 jiffies)", "RCUStall"),
    ("rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "RCUStall"),
    ("rcu: INFO: rcu_sched self-detected stall on CPU", "RCUStall"),
    (
        "INFO: rcu_sched detected expedited stalls on CPUs/tasks: { 3-... } 21004 jiffies s: 1234 root: "
        "0x8/.",
        "RCUStall",
    ),
    (
        "rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 5-.... } 21 jiffies s: 7 root: "
        "0x1/.",
        "RCUStall",
    ),
    ("INFO: rcu_tasks detected stalls on tasks:", "RCUStall"),
    # kernel/workqueue.c wq_watchdog_timer_fn() (4.5+).
    ("BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 33s!", "WorkqueueLockup"),
    ("BUG: workqueue lockup - pool cpus=3 node=0 flags=0x0 nice=-20 stuck for 45s!", "WorkqueueLockup"),
    # mm/oom_kill.c out_of_memory(): panic() text up to 4.18, pr_warn() before the panic since.
    ("Out of memory and no killable processes...", "OOMNoKillableProcess"),
    ("Kernel panic - not syncing: Out of memory and no killable processes...", "OOMNoKillableProcess"),
    ("Kernel panic - not syncing: Out of memory and no killable processes", "OOMNoKillableProcess"),
    # mm/oom_kill.c dump_header(): "%s invoked oom-killer: gfp_mask=%#x(%pGg), ..." opens every
    # OOM-killer run (the event of the kill itself follows, see the OOM reports below).
    ("java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=-998", "OOMKillerInvoked"),
    (
        "java invoked oom-killer: gfp_mask=0x6000c0(GFP_KERNEL), nodemask=(null), order=0, "
        "oom_score_adj=-998",
        "OOMKillerInvoked",
    ),
    (
        "JIT Compilation invoked oom-killer: gfp_mask=0x24000c0, order=0, oom_score_adj=952",
        "OOMKillerInvoked",
    ),
    # mm/oom_kill.c oom_kill_process(): the kill as chosen, up to 5.0 ("Kill process %d (%s) score
    # %u or sacrifice child"; 2.6.3x "kill process %d (%s) score %li or a child"), and the kill
    # as done ("Killed process"): 2.6.1x "Out of Memory: Killed process %d (%s).", the UID after
    # the name in Alibaba Cloud kernels, digit grouping as some pastes show it.
    ("Out of memory: Kill process 1234 (java) score 900 or sacrifice child", "OOMKilling"),
    ("Memory cgroup out of memory: Kill process 1234 (java) score 1990 or sacrifice child", "OOMKilling"),
    ("Memory cgroup out of memory: kill process 6016 (java) score 0 or a child", "OOMKilling"),
    ("Out of Memory: Killed process 16498 (java).", "OOMKilling"),
    (
        "Killed process 799153 (node), UID 1000, total-vm:606096kB, anon-rss:68308kB, file-rss:13648kB, "
        "shmem-rss:0kB",
        "OOMKilling",
    ),
    (
        "Out of memory: Killed process 7899 (python) total-vm:26,184,840kB, anon-rss:153,700,88kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:38964kB oom_score_adj:0",
        "OOMKilling",
    ),
    # kernel/panic.c panic(): "Kernel panic - not syncing: %s" in every version; the texts come
    # from arch/x86/kernel/dumpstack.c oops_end(), kernel/exit.c, init/do_mounts.c, the lockup
    # and hung-task detectors with *_panic set, mm/oom_kill.c, drivers/tty/sysrq.c, arm64 die().
    ("Kernel panic - not syncing: Fatal exception", "KernelPanic"),
    ("Kernel panic - not syncing: Fatal exception in interrupt", "KernelPanic"),
    ("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009", "KernelPanic"),
    ("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)", "KernelPanic"),
    ("Kernel panic - not syncing: softlockup: hung tasks", "KernelPanic"),
    ("Kernel panic - not syncing: hung_task: blocked tasks", "KernelPanic"),
    ("Kernel panic - not syncing: RCU Stall", "KernelPanic"),
    ("Kernel panic - not syncing: System is deadlocked on memory", "KernelPanic"),
    ("Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled", "KernelPanic"),
    ("Kernel panic - not syncing: Oops: Fatal exception", "KernelPanic"),
    ("Kernel panic - not syncing: Oops - BUG: Fatal exception", "KernelPanic"),
    ("Kernel panic - not syncing: sysrq triggered crash", "KernelPanic"),
    (
        "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: tcp_sendmsg+0x1c/0x40",
        "KernelPanic",
    ),
    # arch/x86/mm/fault.c: "BUG: unable to handle kernel NULL pointer dereference at %p" /
    # "... paging request at %p" (2.6-4.x; %p of NULL printed "(null)" in 4.x), and 4.20+
    # show_fault_oops() "BUG: kernel NULL pointer dereference, address: %px" /
    # "BUG: unable to handle page fault for address: %px".
    ("BUG: unable to handle kernel NULL pointer dereference at 0000000000000008", "KernelOops"),
    ("BUG: unable to handle kernel NULL pointer dereference at           (null)", "KernelOops"),
    ("BUG: unable to handle kernel paging request at ffffffffa0123456", "KernelOops"),
    ("BUG: kernel NULL pointer dereference, address: 0000000000000030", "KernelOops"),
    ("BUG: unable to handle page fault for address: ffffc90000a7c000", "KernelOops"),
    # arch/x86/kernel/dumpstack.c __die_header(): "%s: %04lx [#%d]..." up to 6.9, "Oops: %s: ..."
    # since 6.10; arch/x86/kernel/traps.c die_addr() names non-canonical GPF addresses (5.5+).
    ("divide error: 0000 [#1] SMP", "KernelOops"),
    ("divide error: 0000 [#1] SMP PTI", "KernelOops"),
    ("Oops: divide error: 0000 [#1] PREEMPT SMP NOPTI", "KernelOops"),
    ("general protection fault: 0000 [#1] SMP PTI", "KernelOops"),
    (
        "general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP "
        "NOPTI",
        "KernelOops",
    ),
    (
        "Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] "
        "PREEMPT SMP KASAN NOPTI",
        "KernelOops",
    ),
    ("Oops: 0000 [#1] SMP", "KernelOops"),
    ("Oops: 0002 [#1] PREEMPT SMP PTI", "KernelOops"),
    ("Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI", "KernelOops"),
    ("invalid opcode: 0000 [#1] SMP", "KernelOops"),
    ("stack segment: 0000 [#1] SMP PTI", "KernelOops"),
    # arch/arm64/kernel/traps.c die() "Internal error: %s: %x [#%d]" (%016lx since 6.0),
    # arch/arm/kernel/traps.c, arch/powerpc/kernel/traps.c ("sig: %d [#%d]").
    ("Internal error: Oops: 96000005 [#1] SMP", "KernelOops"),
    ("Internal error: Oops: 0000000096000004 [#1] PREEMPT SMP", "KernelOops"),
    ("Internal error: Oops - BUG: 00000000f2000800 [#1] SMP", "KernelOops"),
    ("Internal error: Oops - BUG: f2000800 [#1] PREEMPT SMP", "KernelOops"),
    ("Internal error: Oops: 17 [#1] SMP ARM", "KernelOops"),
    ("Oops: Kernel access of bad area, sig: 11 [#1]", "KernelOops"),
    # kernel/sched/idle.c dequeue_task_idle() (2.6.25-5.x): the idle task was scheduled away.
    ("bad: scheduling from the idle thread!", "KernelOops"),
    # arch/arm64/mm/fault.c and arch/arm/mm/fault.c __do_kernel_fault().
    ("Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008", "KernelOops"),
    ("Unable to handle kernel paging request at virtual address ffff800012345678", "KernelOops"),
    ("Unable to handle kernel NULL pointer dereference at virtual address 00000000", "KernelOops"),
    # lib/bug.c report_bug(): "kernel BUG at %s:%u!" and, without file info, "Kernel BUG at %pB".
    ("kernel BUG at mm/slub.c:123!", "KernelOops"),
    ("kernel BUG at fs/ext4/inode.c:2716!", "KernelOops"),
    ("Kernel BUG at ffffffffa03b3a8c [verbose debug info unavailable]", "KernelOops"),
    # Other "BUG: " reports: mm/page_alloc.c bad_page(), mm/memory.c print_bad_pte(),
    # kernel/fork.c check_mm(), kernel/sched/core.c, mm/kasan/report.c, mm/kfence/report.c,
    # kernel/locking/spinlock_debug.c, arch/x86/mm/fault.c (5.x stack guard), lib/smp_processor_id.c.
    ("BUG: Bad page state in process java  pfn:1a2b3c", "KernelOops"),
    ("BUG: Bad page map in process java  pte:8000000012345067 pmd:12345067", "KernelOops"),
    ("BUG: Bad rss-counter state mm:00000000a1b2c3d4 type:MM_ANONPAGES val:1", "KernelOops"),
    ("BUG: scheduling while atomic: swapper/0/0/0x00000100", "KernelOops"),
    ("BUG: sleeping function called from invalid context at mm/slab.h:421", "KernelOops"),
    ("BUG: KASAN: use-after-free in tcp_retransmit_timer+0x1234/0x1560", "KernelOops"),
    ("BUG: KASAN: slab-out-of-bounds in foo_ioctl+0x1c/0x40 [foo]", "KernelOops"),
    ("BUG: KFENCE: out-of-bounds read in foo+0x10/0x20", "KernelOops"),
    ("BUG: spinlock lockup suspected on CPU#3, java/1234", "KernelOops"),
    (
        "BUG: stack guard page was hit at 000000003e0b0f3a (stack is 00000000ce7ee7d5..0000000021bc5f4d)",
        "KernelOops",
    ),
    ("BUG: using smp_processor_id() in preemptible [00000000] code: kworker/u16:0/123", "KernelOops"),
    ("BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000000/12", "KernelOops"),
    # lib/list_debug.c (CONFIG_DEBUG_LIST, on in RHEL/Ubuntu/Debian kernels), 3.x %p and 4.x+ %px.
    (
        "list_add corruption. next->prev should be prev (ffff88003c0dc6b0), but was ffff88003c0dc6b1. "
        "(next=ffff88003c0dc6c0).",
        "KernelOops",
    ),
    ("list_del corruption, ffff888123456789->next is LIST_POISON1 (dead000000000100)", "KernelOops"),
    (
        "list_del corruption. prev->next should be ffff888012345678, but was ffff888087654321. "
        "(prev=ffff888012345678)",
        "KernelOops",
    ),
    (
        "list_add double add: new=ffff888012345678, prev=ffff888012345678, next=ffff888087654321.",
        "KernelOops",
    ),
    # mm/slub.c slab_bug(): "BUG %s (%s): %pV" (slub_debug).
    ("BUG kmalloc-128 (Not tainted): Poison overwritten", "KernelOops"),
    ("BUG skbuff_head_cache (Tainted: G    B      ): Object already free", "KernelOops"),
    # kernel/panic.c __warn() / warn_slowpath_common(): "WARNING: at %s:%d %pS()" (up to 3.10),
    # "WARNING: CPU: %d PID: %d at %s:%d %pS" (3.11-6.x, "()" until 4.9), and since 6.18
    # "WARNING: %s:%d at %pS, CPU#%d: %s/%d".
    ("WARNING: at fs/xfs/xfs_aops.c:1244 xfs_vm_releasepage+0xcb/0x100 [xfs]()", "KernelWarning"),
    (
        "WARNING: CPU: 8 PID: 3180 at mm/page_alloc.c:4440 __alloc_pages_slowpath+0xd8a/0xe00()",
        "KernelWarning",
    ),
    ("WARNING: CPU: 3 PID: 1234 at net/core/dev.c:2345 skb_warn_bad_offload+0x99/0xb0", "KernelWarning"),
    ("WARNING: CPU: 2 PID: 0 at net/sched/sch_generic.c:461 dev_watchdog+0x26b/0x280", "KernelWarning"),
    ("WARNING: CPU: 1 PID: 77 at 0xffffffffc0a1b2c3", "KernelWarning"),
    ("WARNING: mm/slub.c:1234 at kmem_cache_free+0x2c/0x40, CPU#3: java/1234", "KernelWarning"),
    ("WARNING: at kmem_cache_free+0x2c/0x40, CPU#3: java/1234", "KernelWarning"),
    # kernel/locking/lockdep.c, kernel/rcu/update.c lockdep_rcu_suspicious() (debug kernels).
    ("WARNING: possible circular locking dependency detected", "KernelWarning"),
    ("WARNING: suspicious RCU usage", "KernelWarning"),
    # lib/ubsan.c: "UBSAN: Undefined behaviour in %s:%d:%d" (4.5-5.8), "UBSAN: %s in %s:%d:%d" (5.9+).
    ("UBSAN: Undefined behaviour in drivers/net/ethernet/foo/foo.c:123:45", "KernelWarning"),
    ("UBSAN: array-index-out-of-bounds in drivers/scsi/megaraid/megaraid_sas_fp.c:103:32", "KernelWarning"),
    ("UBSAN: shift-out-of-bounds in lib/foo.c:12:34", "KernelWarning"),
    # kernel/time/clocksource.c clocksource_watchdog(): "Clocksource %s unstable (delta = %Ld ns)"
    # up to 4.2 (RHEL 7 adds a hint), "timekeeping watchdog on CPU%d: Marking clocksource '%s' as
    # unstable ..." since; cs_watchdog_read() read-back delays (5.13+, reworded in 6.x).
    ("Clocksource tsc unstable (delta = -123456 ns)", "ClocksourceUnstable"),
    (
        "Clocksource tsc unstable (delta = -95170507948 ns).  Enable clocksource failover by adding "
        "clocksource_failover kernel parameter.",
        "ClocksourceUnstable",
    ),
    (
        "clocksource: timekeeping watchdog on CPU3: Marking clocksource 'tsc' as unstable because the skew "
        "is too large:",
        "ClocksourceUnstable",
    ),
    (
        "clocksource: timekeeping watchdog on CPU2: Marking clocksource 'tsc-early' as unstable because the "
        "skew is too large:",
        "ClocksourceUnstable",
    ),
    (
        "clocksource: timekeeping watchdog on CPU13: wd-tsc-wd read-back delay of 1000614ns, attempt 3, "
        "marking unstable",
        "ClocksourceUnstable",
    ),
    (
        "clocksource: timekeeping watchdog on CPU227: wd-tsc-wd excessive read-back delay of 153560ns vs. "
        "limit of 125000ns, wd-wd read-back delay only 11440ns, attempt 3, marking tsc unstable",
        "ClocksourceUnstable",
    ),
    # arch/x86/kernel/tsc.c mark_tsc_unstable() / tsc_cs_mark_unstable() (pr_fmt "tsc: " in 4.x+),
    # arch/x86/kernel/tsc_sync.c, arch/x86/kvm/x86.c.
    ("Marking TSC unstable due to clocksource watchdog", "ClocksourceUnstable"),
    ("tsc: Marking TSC unstable due to clocksource watchdog", "ClocksourceUnstable"),
    ("tsc: Marking TSC unstable due to check_tsc_sync_source failed", "ClocksourceUnstable"),
    ("tsc: Marking TSC unstable due to KVM discovered backwards TSC", "ClocksourceUnstable"),
    # kernel/sched/clock.c __sched_clock_work() (3.x+): a TSC that was stable at boot no longer is;
    # arch/x86/kernel/tsc_sync.c check_tsc_sync_source(): the CPUs' TSCs disagree.
    (
        "TSC found unstable after boot, most likely due to broken BIOS. Use 'tsc=unstable'.",
        "ClocksourceUnstable",
    ),
    ("Measured 6342 cycles TSC warp between CPUs, turning off TSC clock.", "ClocksourceUnstable"),
]

# (message, the reason it must report, the condition it sets): permanent rules, with the
# TaskHung event upstream also gives for these lines (upstream fires every matching rule).
DEADLOCKS: list[tuple[str, str]] = [
    # Upstream's acceptance line (written without "INFO: " through systemd-cat) and the kmsg form.
    ("task docker:7 blocked for more than 300 seconds.", "DockerHung"),
    ("INFO: task docker:7 blocked for more than 120 seconds.", "DockerHung"),
    ("INFO: task dockerd:1459 blocked for more than 120 seconds.", "DockerHung"),
    # docker-containerd (Docker 1.11-18.06), truncated to TASK_COMM_LEN - 1 = 15 characters.
    ("INFO: task docker-containe:2345 blocked for more than 120 seconds.", "DockerHung"),
    ("INFO: task containerd:1078 blocked for more than 122 seconds.", "ContainerdHung"),
    # containerd-shim-runc-v2, truncated to 15 characters.
    ("INFO: task containerd-shim:29384 blocked for more than 120 seconds.", "ContainerdHung"),
    ("INFO: task kubelet:2331 blocked for more than 120 seconds.", "KubeletHung"),
    ("INFO: task umount.aufs:21568 blocked for more than 120 seconds.", "AUFSUmountHung"),
]

# Lines that continue a report which already gave its event, or that precede the line that
# gives it: none may report anything on its own.
FOLLOW_UPS: list[str] = [
    # hung task report (kernel/hung_task.c, kernel/sched/core.c sched_show_task())
    "      Not tainted 4.15.0-20-generic #21-Ubuntu",
    "      Tainted: G           OE     5.4.0-1034-aws #35-Ubuntu",
    '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    "task:java            state:D stack:    0 pid: 1234 ppid:     1 flags:0x00000000",
    "java            D    0  1234      1 0x00000000",
    "INFO: task java:1234 is blocked on a mutex likely owned by task kworker/0:1:55.",
    "Future hung task reports are suppressed, see sysctl kernel.hung_task_warnings",
    # oops / warning splat body (arch/x86/kernel/dumpstack.c, kernel/panic.c)
    "------------[ cut here ]------------",
    "Modules linked in: xt_conntrack nf_nat overlay br_netfilter bridge stp llc ena",
    "CPU: 3 PID: 1234 Comm: java Not tainted 5.4.0-1045-aws #47~18.04.1-Ubuntu",
    "CPU: 3 PID: 1234 Comm: java Tainted: G      D W         6.1.0-18-amd64 #1 Debian 6.1.76-1",
    "Hardware name: Amazon EC2 m5.xlarge/, BIOS 1.0 10/16/2017",
    "#PF: supervisor read access in kernel mode",
    "#PF: error_code(0x0000) - not-present page",
    "PGD 0 P4D 0",
    "IP: [<ffffffff81234567>] foo+0x12/0x34",
    "RIP: 0010:native_safe_halt+0xe/0x10",
    "RSP: 0018:ffffb1234567bea0 EFLAGS: 00000246 ORIG_RAX: ffffffffffffff13",
    "Code: 48 8b 47 08 48 85 c0 74 05 <48> 8b 00 c3 31 c0 c3",
    "CR2: 0000000000000008",
    "Call Trace:",
    "<TASK>",
    "__schedule+0x2e3/0x740",
    "</TASK>",
    "---[ end trace 1234567890abcdef ]---",
    "---[ end trace 0000000000000000 ]---",
    "note: java[1234] exited with irqs disabled",
    "note: java[1234] exited with preempt_count 1",
    "Kernel Offset: 0x1a000000 from 0xffffffff81000000 (relocation range: "
    "0xffffffff80000000-0xffffffffbfffffff)",
    "Rebooting in 10 seconds..",
    "---[ end Kernel panic - not syncing: Fatal exception ]---",
    "---[ end Kernel panic - not syncing: Hard LOCKUP ]---",
    "---[ end Kernel panic - not syncing: Out of memory and no killable processes... ]---",
    "---[ end Kernel panic - not syncing: Watchdog detected hard LOCKUP on cpu 5 ]---",
    "Shutting down cpus with NMI",
    "Mem abort info:",
    "  ESR = 0x96000005",
    # lockup and stall report bodies (kernel/watchdog.c, kernel/rcu/tree_stall.h, lib/nmi_backtrace.c)
    "CPU#3 Utilization every 4s during lockup:",
    "rcu: \t3-...!: (1 GPs behind) idle=9874/1/0x4000000000000000 softirq=0/0 fqs=20",
    "\t(detected by 5, t=21002 jiffies, g=4205, q=12)",
    "rcu: rcu_sched kthread starved for 20964 jiffies! g938281 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x0 ->cpu=4",
    "rcu: RCU grace-period kthread stack dump:",
    "NMI backtrace for cpu 3",
    "Sending NMI from CPU 0 to CPUs 1:",
    "Showing busy workqueues and worker pools:",
    "workqueue events: flags=0x0",
    # OOM report body (mm/oom_kill.c, mm/memcontrol.c) between "invoked oom-killer" and the kill
    "Task in /kubepods/burstable/pod0b8e7c2a/abc killed as a result of limit of "
    "/kubepods/burstable/pod0b8e7c2a",
    "memory: usage 1048576kB, limit 1048576kB, failcnt 4523",
    "Memory cgroup stats for /kubepods/burstable/pod0b8e7c2a: cache:0KB rss:1048576KB rss_huge:0KB",
    "Tasks state (memory values in pages):",
    "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
    "[   1234]     0  1234  1153302   134371  1466368        0           998 java",
    "Kill process 1240 (java) sharing same memory",
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=abc,mems_allowed=0,oom_memcg=/kubepods/pod1,"
    "task_memcg=/kubepods/pod1/c1,task=java,pid=1234,uid=0",
    "Memory cgroup out of memory: OOM victim 1234 (java) is already exiting. Skip killing the task",
    "oom_reaper: reaped process 1234 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
    # clocksource watchdog report body (kernel/time/clocksource.c, arch/x86/kernel/tsc*.c)
    "clocksource:                       'hpet' wd_now: 2c9a3 wd_last: 2a8b4 mask: ffffffff",
    "clocksource:                       'tsc' cs_now: 5f8b1c2ba82 cs_last: 5f6bd7e06e6 mask: "
    "ffffffffffffffff",
    "clocksource:                       'tsc' is current clocksource.",
    "sched_clock: Marking unstable (2390013458447, -8640286)<-(2390082627706, -77809500)",
    "TSC synchronization [CPU#0 -> CPU#1]:",
]

# Lines that look like a problem of this area and are not (more in negative/kernel.txt and boot.txt).
NEAR_MISSES: list[str] = [
    "OOM killer disabled.",
    "OOM killer enabled.",
    "systemd[1]: foo.service: Killing process 1234 (foo) with signal SIGKILL.",
    "clocksource: Switched to clocksource tsc",
    "clocksource: Switched to clocksource kvm-clock",
    "Switched to clocksource hpet",
    "tsc: Marking TSC unstable due to running on Hyper-V",
    "Marking TSC unstable due to TSC halts in idle",
    "clocksource: timekeeping watchdog on CPU1: hpet retried 2 times before success",
    "clocksource: timekeeping watchdog on CPU2: hpet wd-wd read-back delay of 75867ns",
    "NMI watchdog: Shutting down hard lockup detector on all cpus",
    "INFO: NMI handler (perf_event_nmi_handler) took too long to run: 1.234 msecs",
    "workqueue: blk_mq_run_work_fn hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND",
    "traps: java[1234] general protection fault ip:7f3e8c0b2a1d sp:7ffd3d2e3f40 error:0 in "
    "libc-2.31.so[7f3e8c05b000+178000]",
    "traps: python3[2345] trap divide error ip:7f1234567890 sp:7ffd12345678 error:0 in "
    "libfoo.so[7f1234500000+100000]",
    "node[4321]: segfault at 0 ip 0000563a8d3b2f6e sp 00007ffc5d8a1e80 error 4 in node[563a8c000000+4000000]",
    "Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 "
    "BHB attacks!",
    "WARNING: The mand mount option has been deprecated and and is ignored by this kernel.",
    "ACPI BIOS Error (bug): Could not resolve symbol [\\_SB.PCI0.GPP0.SWUS], AE_NOT_FOUND "
    "(20210730/dswload2-162)",
    "[Firmware Bug]: TSC_DEADLINE disabled due to Errata; please update microcode to version: 0x3a (or "
    "later)",
    "Kernel command line: BOOT_IMAGE=/boot/vmlinuz-5.15.0-91-generic ro console=ttyS0 panic=10 "
    "hung_task_panic=1",
    # machine checks and firmware-reported fatal errors are hardware-monitor.json's
    "Kernel panic - not syncing: Fatal machine check",
    "Kernel panic - not syncing: Timeout: Not all CPUs entered broadcast exception handler",
    "Kernel panic - not syncing: Fatal hardware error!",
]


def _found(lines: list[str]) -> list[tuple[str, str]]:
    return [(found.reason, found.condition) for found in findings(CONFIG, lines)]


@pytest.mark.parametrize(("line", "reason"), EVENTS, ids=[line[:60] for line, _ in EVENTS])
def test_a_problem_line_gives_one_event(line: str, reason: str) -> None:
    assert _found([line]) == [(reason, "")]


@pytest.mark.parametrize(("line", "reason"), DEADLOCKS, ids=[line[:60] for line, _ in DEADLOCKS])
def test_a_runtime_task_hung_sets_kernel_deadlock_and_still_gives_task_hung(line: str, reason: str) -> None:
    assert _found([line]) == [("TaskHung", ""), (reason, DEADLOCK)]


def test_a_second_hung_runtime_task_leaves_the_condition_as_it_is() -> None:
    lines = [
        "INFO: task dockerd:1459 blocked for more than 120 seconds.",
        "INFO: task dockerd:1459 blocked for more than 241 seconds.",
    ]
    assert _found(lines) == [("TaskHung", ""), ("DockerHung", DEADLOCK), ("TaskHung", "")]


@pytest.mark.parametrize("line", FOLLOW_UPS)
def test_a_follow_up_line_reports_nothing(line: str) -> None:
    assert findings(CONFIG, [line]) == []


@pytest.mark.parametrize("line", NEAR_MISSES)
def test_a_near_miss_reports_nothing(line: str) -> None:
    assert findings(CONFIG, [line]) == []


# Whole OOM reports as each kernel generation prints them, cut to the lines that matter.
OOM_3_10 = [  # CentOS 7, 3.10: memcg OOM, cgroup named many lines before the kill
    "java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=-998",
    "Task in /kubepods/burstable/pod0b8e/abc killed as a result of limit of /kubepods/burstable/pod0b8e",
    "memory: usage 524288kB, limit 524288kB, failcnt 71",
    "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
    "[27281]     0 27281  1153302   134371    1466        0          -998 java",
    "Memory cgroup out of memory: Kill process 27281 (java) score 1027 or sacrifice child",
    "Killed process 27281 (java) total-vm:4613208kB, anon-rss:517316kB, file-rss:20168kB",
]
OOM_RHEL6 = [  # 2.6.32 RHEL 6 prints the UID inside the "Killed process" line
    "Memory cgroup out of memory: Kill process 50398 (java) score 936 or sacrifice child",
    "Killed process 50398, UID 697, (java) total-vm:16345624kB, anon-rss:7822592kB, file-rss:1852kB",
]
OOM_4_15 = [  # Ubuntu 18.04, 4.15: global OOM, shmem-rss added in 4.5, then the OOM reaper (4.6+)
    "stress invoked oom-killer: gfp_mask=0x14200ca(GFP_HIGHUSER_MOVABLE), nodemask=(null), order=0, "
    "oom_score_adj=0",
    "Out of memory: Kill process 1990 (stress) score 987 or sacrifice child",
    "Killed process 1990 (stress) total-vm:73532kB, anon-rss:32008kB, file-rss:212kB, shmem-rss:0kB",
    "oom_reaper: reaped process 1990 (stress), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
]
OOM_4_19 = [  # Debian 10, 4.19: the oom-kill summary (4.19+) before the old two-line kill
    "java invoked oom-killer: gfp_mask=0x6000c0(GFP_KERNEL), nodemask=(null), order=0, oom_score_adj=969",
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=3a7c,mems_allowed=0,oom_memcg=/kubepods/"
    "burstable/pod9f1c,task_memcg=/kubepods/burstable/pod9f1c/3a7c,task=java,pid=4312,uid=0",
    "Memory cgroup out of memory: Kill process 4312 (java) score 1969 or sacrifice child",
    "Killed process 4312 (java) total-vm:3543436kB, anon-rss:1040196kB, file-rss:16308kB, shmem-rss:0kB",
    "oom_reaper: reaped process 4312 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
]
OOM_5_15 = [  # Ubuntu 22.04, 5.15: one "Killed process" line with UID, pgtables, oom_score_adj
    "java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=969",
    "Tasks state (memory values in pages):",
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-1b2c.scope,mems_allowed=0,"
    ""
    "oom_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7d2e.slice,task_memcg=/kubepods.slice/"
    ""
    "kubepods-burstable.slice/kubepods-burstable-pod7d2e.slice/cri-containerd-1b2c.scope,task=java,pid=4312,uid=0",
    "Memory cgroup out of memory: Killed process 4312 (java) total-vm:3543436kB, anon-rss:1040196kB, "
    "file-rss:16308kB, shmem-rss:0kB, UID:0 pgtables:2412kB oom_score_adj:969",
    "oom_reaper: reaped process 4312 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
]
OOM_6_1_GLOBAL = [  # Debian 12, 6.1: global OOM
    "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
    "task_memcg=/system.slice/postgresql.service,task=postgres,pid=812,uid=106",
    "Out of memory: Killed process 812 (postgres) total-vm:8457236kB, anon-rss:7512004kB, file-rss:0kB, "
    "shmem-rss:1236kB, UID:106 pgtables:15020kB oom_score_adj:0",
]
OOM_GROUP = [  # 5.x memory.oom.group: the whole cgroup is killed, one event per process
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/job,"
    "task_memcg=/job,task=worker,pid=10,uid=0",
    "Memory cgroup out of memory: Killed process 10 (worker) total-vm:100kB, anon-rss:90kB, file-rss:0kB, "
    "shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0",
    "Tasks in /job are going to be killed due to memory.oom.group set",
    "Memory cgroup out of memory: Killed process 11 (worker) total-vm:100kB, anon-rss:90kB, file-rss:0kB, "
    "shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0",
]


@pytest.mark.parametrize(
    ("report", "named"),
    [
        (OOM_3_10, ["Memory cgroup out of memory: Kill process 27281 (java)"]),
        (OOM_RHEL6, ["Kill process 50398 (java)"]),
        (OOM_4_15, ["Out of memory: Kill process 1990 (stress)"]),
        (OOM_4_19, ["task_memcg=/kubepods/burstable/pod9f1c/3a7c", "Kill process 4312 (java)"]),
        (OOM_5_15, ["cri-containerd-1b2c.scope,task=java", "Killed process 4312 (java)"]),
        (OOM_6_1_GLOBAL, ["task_memcg=/system.slice/postgresql.service", "Killed process 812 (postgres)"]),
    ],
    ids=["3.10", "rhel6", "4.15", "4.19", "5.15", "6.1-global"],
)
def test_an_oom_kill_gives_one_event_naming_the_process_and_the_logged_cgroup(
    report: list[str], named: list[str]
) -> None:
    # Up to 5.0 the kill is reported where the killer names its choice ("Kill process ... or
    # sacrifice child"), and the "Killed process" line right after it stays silent; since 5.1 the
    # "Killed process" line is the only one. A report that opens with "invoked oom-killer" gives
    # that event first.
    found = findings(CONFIG, report)
    invoked = ["OOMKillerInvoked"] if any("invoked oom-killer" in line for line in report) else []
    assert [item.reason for item in found] == [*invoked, "OOMKilling"]
    for text in named:
        assert text in found[-1].message
    assert "oom_reaper" not in found[-1].message and "invoked oom-killer" not in found[-1].message


def test_a_4_19_oom_event_spans_the_summary_and_the_choice() -> None:
    message = findings(CONFIG, OOM_4_19)[-1].message
    assert message == "\n".join(OOM_4_19[1:3])


def test_a_killed_line_after_an_unrelated_line_still_gives_its_event() -> None:
    lines = [
        "IPv6: ADDRCONF(NETDEV_CHANGE): veth1a2b3c4d: link becomes ready",
        "Killed process 4313 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB",
    ]
    assert reasons(CONFIG, lines) == ["OOMKilling"]


def test_an_oom_group_kill_gives_one_event_per_killed_process() -> None:
    found = findings(CONFIG, OOM_GROUP)
    assert [item.reason for item in found] == ["OOMKilling", "OOMKilling"]
    assert "oom_memcg=/job" in found[0].message and "Killed process 10 (worker)" in found[0].message
    assert found[1].message == "\n".join(OOM_GROUP[2:4])


def test_a_kill_whose_report_was_rate_limited_still_gives_its_event() -> None:
    # oom_kill_process() rate-limits dump_header() (and with it the oom-kill: line), never the kill.
    lines = [
        "Memory cgroup out of memory: Killed process 4313 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB"
    ]
    assert [(item.reason, item.message) for item in findings(CONFIG, lines)] == [("OOMKilling", lines[0])]


CLOCK_4_X = [  # Ubuntu 18.04 on KVM (kernel/time/clocksource.c, arch/x86/kernel/tsc.c)
    "clocksource: timekeeping watchdog on CPU1: Marking clocksource 'tsc' as unstable because the skew is "
    "too large:",
    "clocksource:                       'kvm-clock' wd_now: 1f0a5b7e5c7 wd_last: 1efbb0d8f73 mask: "
    "ffffffffffffffff",
    "clocksource:                       'tsc' cs_now: 5f8b1c2ba82 cs_last: 5f6bd7e06e6 mask: "
    "ffffffffffffffff",
    "tsc: Marking TSC unstable due to clocksource watchdog",
    "TSC found unstable after boot, most likely due to broken BIOS. Use 'tsc=unstable'.",
    "sched_clock: Marking unstable (2390013458447, -8640286)<-(2390082627706, -77809500)",
    "clocksource: Switched to clocksource kvm-clock",
]
CLOCK_3_10 = [  # CentOS 7: no "clocksource: " prefix, no separate TSC line
    "Clocksource tsc unstable (delta = -95170507948 ns).  Enable clocksource failover by adding "
    "clocksource_failover kernel parameter.",
    "Switched to clocksource hpet",
]


def test_a_clocksource_incident_reports_its_detection_lines_and_the_switch_it_caused() -> None:
    found = findings(CONFIG, CLOCK_4_X)
    assert [item.reason for item in found] == ["ClocksourceUnstable"] * 4
    assert [item.message.splitlines()[-1] for item in found] == [
        CLOCK_4_X[0],
        CLOCK_4_X[3],
        CLOCK_4_X[4],
        CLOCK_4_X[6],
    ]


def test_a_3_10_clocksource_switch_after_the_unstable_line_is_reported() -> None:
    assert reasons(CONFIG, CLOCK_3_10) == ["ClocksourceUnstable", "ClocksourceUnstable"]


def test_a_switch_long_after_the_instability_or_without_one_is_not_reported() -> None:
    filler = [f"cni0: port {port}(veth{port:08x}) entered forwarding state" for port in range(7)]
    lines = [
        "tsc: Marking TSC unstable due to clocksource watchdog",
        *filler,
        "clocksource: Switched to clocksource hpet",
    ]
    assert reasons(CONFIG, lines) == ["ClocksourceUnstable"]
    hyper_v_boot = [
        "tsc: Marking TSC unstable due to running on Hyper-V",
        "clocksource: Switched to clocksource hpet",
    ]
    assert reasons(CONFIG, hyper_v_boot) == []


def test_a_hung_task_report_gives_one_event() -> None:
    report = [  # Ubuntu 18.04, 4.15
        "INFO: task kworker/u16:2:123 blocked for more than 120 seconds.",
        "      Not tainted 4.15.0-20-generic #21-Ubuntu",
        '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
        "kworker/u16:2   D    0   123      2 0x80000000",
        "Workqueue: writeback wb_workfn (flush-259:0)",
        "Call Trace:",
        " __schedule+0x24e/0x880",
        " schedule+0x2c/0x80",
    ]
    assert reasons(CONFIG, report) == ["TaskHung"]


def test_an_rcu_stall_report_gives_one_event() -> None:
    report = [  # 6.1
        "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
        "rcu: \t4-....: (5249 ticks this GP) idle=51e4/1/0x4000000000000000 softirq=309/309 fqs=2563",
        "\t(detected by 0, t=5252 jiffies, g=104257, q=3 ncpus=8)",
        "Sending NMI from CPU 0 to CPUs 4:",
        "NMI backtrace for cpu 4",
        "rcu: rcu_preempt kthread timer wakeup didn't happen for 5021 jiffies! g104257 f0x0 "
        "RCU_GP_WAIT_FQS(5) ->state=0x402",
    ]
    assert reasons(CONFIG, report) == ["RCUStall"]


def test_an_x86_page_fault_oops_reports_its_bug_line_and_its_die_header() -> None:
    # Two self-describing lines of one oops: "BUG: ..." from show_fault_oops() and the die()
    # header; each is a report of its own (a lone "Oops: ..." line from a trimmed log must fire).
    report = [  # 5.15
        "BUG: kernel NULL pointer dereference, address: 0000000000000008",
        "#PF: supervisor read access in kernel mode",
        "#PF: error_code(0x0000) - not-present page",
        "PGD 0 P4D 0",
        "Oops: 0000 [#1] SMP NOPTI",
        "CPU: 1 PID: 2345 Comm: kworker/1:2 Not tainted 5.15.0-91-generic #101-Ubuntu",
        "RIP: 0010:foo_work+0x12/0x40 [foo]",
        "Call Trace:",
        "---[ end trace 3a1e0c2b5d4f6a7b ]---",
    ]
    assert reasons(CONFIG, report) == ["KernelOops", "KernelOops"]


def test_a_soft_lockup_with_softlockup_panic_reports_the_lockup_and_the_panic() -> None:
    report = [
        "watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [stress-ng:1234]",
        "Modules linked in: overlay",
        "CPU: 3 PID: 1234 Comm: stress-ng Tainted: G             L     6.1.0-18-amd64 #1 Debian 6.1.76-1",
        "Kernel panic - not syncing: softlockup: hung tasks",
        "---[ end Kernel panic - not syncing: softlockup: hung tasks ]---",
    ]
    assert reasons(CONFIG, report) == ["SoftLockup", "KernelPanic"]


def test_only_the_oom_kill_and_clocksource_switch_rules_need_the_preceding_lines() -> None:
    # Every other rule matches within one line; the three that look back are prefiltered by their
    # last line, so the monitor joins its buffer only for "Kill process ... or sacrifice child",
    # "Killed process" and "Switched to" lines.
    config = bundled(CONFIG)
    context = [(rule.reason, analyze(rule.pattern)) for rule in config.rules]
    assert sorted(reason for reason, info in context if not info.last_line_exact) == [
        "ClocksourceUnstable",
        "OOMKilling",
        "OOMKilling",
    ]
    assert all(info.prefilter is not None for _, info in context)
    assert config.buffer_size >= 8  # the switch may come 6 lines after the last unstable line


def test_the_first_two_rules_are_upstreams_oom_and_hung_task_events() -> None:
    # Other tests run a kmsg monitor with just these two rules of the bundled file.
    first = bundled(CONFIG).rules[:2]
    assert [(rule.type.value, rule.reason) for rule in first] == [
        ("temporary", "OOMKilling"),
        ("temporary", "TaskHung"),
    ]


def test_the_only_condition_is_upstreams_kernel_deadlock() -> None:
    conditions = bundled(CONFIG).conditions
    assert [(c.type, c.reason, c.message) for c in conditions] == [
        ("KernelDeadlock", "KernelHasNoDeadlock", "kernel has no deadlock")
    ]
