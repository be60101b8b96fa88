"""The network monitor: netdev refcount leaks, conntrack, NIC hangs and link loss, NFS and iSCSI.

Each positive case is a kernel message as /dev/kmsg gives it (no timestamp, no ``kernel:``
prefix); the comment above it names the printk it comes from. Every line must give exactly
one report.
"""

from __future__ import annotations

import pytest

from npd.monitors.logmonitor import rule_matcher
from npd.monitors.tracker import ProblemTracker
from npd.problem import ConditionStatus
from npd.sources.base import LogRecord, RecordBatch
from tests.catalog.harness import bundled, findings, reasons

CONFIG = "network-monitor.json"

POSITIVE: list[tuple[str, str]] = [
    # net/core/dev.c netdev_wait_allrefs(): the same format from 2.6 to 6.x (netdev_wait_allrefs_any).
    ("unregister_netdevice: waiting for lo to become free. Usage count = 1", "UnregisterNetDevice"),
    ("unregister_netdevice: waiting for eth0 to become free. Usage count = 2", "UnregisterNetDevice"),
    ("unregister_netdevice: waiting for eth0.20 to become free. Usage count = 1", "UnregisterNetDevice"),
    ("unregister_netdevice: waiting for veth5e4a1b2 to become free. Usage count = -1", "UnregisterNetDevice"),
    # As pasted in real reports: cut after "free." (easzlab/kubeasz#408), or console copy without
    # the full stop (moby/moby#5618).
    ("unregister_netdevice: waiting for eth0 to become free.", "UnregisterNetDevice"),
    ("unregister_netdevice: waiting for lo to become free  Usage count = 1 ", "UnregisterNetDevice"),
    # net/netfilter/nf_conntrack_core.c __nf_conntrack_alloc(): 2.6 printk with a period,
    # 3.x-4.x net_warn_ratelimited() under pr_fmt (doubled prefix), 3.10 RHEL / 4.x+ single
    # prefix, and the per-netns wording; ip_conntrack is the pre-2.6.15 module.
    ("nf_conntrack: table full, dropping packet", "ConntrackFull"),
    ("nf_conntrack: nf_conntrack: table full, dropping packet", "ConntrackFull"),
    ("nf_conntrack: table full, dropping packet.", "ConntrackFull"),
    ("ip_conntrack: table full, dropping packet.", "ConntrackFull"),
    ("nf_conntrack: table full in netns 4026531840, dropping packet", "ConntrackFull"),
    ("ip_conntrack: table full, dropping packet ", "ConntrackFull"),
    # net/sched/sch_generic.c dev_watchdog(): 2.6.2x "transmit timed out", 2.6.27+ with the
    # driver and queue, 6.4 adds the milliseconds, 6.9 netdev_crit() with the CPU.
    ("NETDEV WATCHDOG: eth0: transmit timed out", "NetworkTxTimeout"),
    ("NETDEV WATCHDOG: eth0 (e1000): transmit timed out", "NetworkTxTimeout"),
    ("NETDEV WATCHDOG: eth0 (ixgbe): transmit queue 3 timed out", "NetworkTxTimeout"),
    ("NETDEV WATCHDOG: enp1s0 (r8169): transmit queue 0 timed out 5120 ms", "NetworkTxTimeout"),
    (
        "bnxt_en 0000:04:00.0 eth0: NETDEV WATCHDOG: CPU: 2: transmit queue 1 timed out 5123 ms",
        "NetworkTxTimeout",
    ),
    # The drivers' ndo_tx_timeout handlers: bnxt_tx_timeout(), mlx5e_tx_timeout() (older) and
    # mlx5e_reporter_tx_timeout(), virtnet_tx_timeout(), i40e/ice tx_timeout recovery,
    # ixgbe_tx_timeout_reset(), tg3_tx_timeout().
    ("bnxt_en 0000:3b:00.0 eth0: TX timeout detected, starting reset task!", "NetworkTxTimeout"),
    ("mlx5_core 0000:3b:00.0 ens1f0: TX timeout detected", "NetworkTxTimeout"),
    (
        "mlx5_core 0000:3b:00.0 ens1f0: TX timeout on queue: 3, SQ: 0x1a2, CQ: 0x4b5, SQ Cons: 0x0 "
        "SQ Prod: 0x3, usecs since last trans: 12360000",
        "NetworkTxTimeout",
    ),
    (
        "virtio_net virtio0 eth0: TX timeout on queue: 0, sq: output.0, vq: 0x1, name: output.0, "
        "8124000 usecs ago",
        "NetworkTxTimeout",
    ),
    ("i40e 0000:3b:00.0 eth0: tx_timeout recovery level 1, hung_queue 5", "NetworkTxTimeout"),
    ("ice 0000:3b:00.0 ens1f0: tx_timeout recovery level 2, txqueue 12", "NetworkTxTimeout"),
    ("ixgbe 0000:01:00.0 eth0: initiating reset due to tx timeout", "NetworkTxTimeout"),
    ("tg3 0000:02:00.0 eth0: transmit timed out, resetting", "NetworkTxTimeout"),
    # Driver hang detection: e1000/igb/ixgbe "Detected Tx Unit Hang", e1000e "Detected Hardware
    # Unit Hang:" (one printk with embedded newlines: /dev/kmsg escapes them as \x0a, a dmesg
    # replay gives the first line), i40e/ice giving up, ena keep-alive and lost completions.
    ("ixgbe 0000:03:00.0 enp3s0: Detected Tx Unit Hang", "NetworkAdapterHang"),
    ("igb 0000:04:00.0 eno1: Detected Tx Unit Hang", "NetworkAdapterHang"),
    ("e1000 0000:02:01.0 eth0: Detected Tx Unit Hang", "NetworkAdapterHang"),
    (
        r"ixgbe 0000:03:00.0 enp3s0: Detected Tx Unit Hang\x0a  Tx Queue             <0>\x0a"
        r"  TDH, TDT             <93>, <9d>",
        "NetworkAdapterHang",
    ),
    ("e1000e 0000:00:19.0 eth0: Detected Hardware Unit Hang:", "NetworkAdapterHang"),
    # The resets the hang (or a tx timeout) leads to: e1000e_reset_task() "Reset adapter
    # unexpectedly", e1000/igb reset_task "Reset adapter", and igb_rd32()/igc_rd32() finding the device gone
    # from the bus ("PCIe link lost").
    ("e1000e 0000:00:1f.6 eno1: Reset adapter unexpectedly", "NetworkAdapterHang"),
    ("igb 0000:01:00.0 eth0: Reset adapter", "NetworkAdapterHang"),
    ("e1000 ens1: Reset adapter", "NetworkAdapterHang"),
    ("igb 0000:02:00.0 enp2s0: PCIe link lost", "NetworkAdapterHang"),
    ("igc 0000:05:00.0 eth5: PCIe link lost, device now detached", "NetworkAdapterHang"),
    (
        r"e1000e 0000:00:1f.6 eno1: Detected Hardware Unit Hang:\x0a  TDH                  <6f>\x0a"
        r"  TDT                  <80>",
        "NetworkAdapterHang",
    ),
    (
        "i40e 0000:3b:00.0 eth0: tx_timeout recovery unsuccessful, device is in non-recoverable state.",
        "NetworkAdapterHang",
    ),
    ("ena 0000:00:05.0 eth0: Keep alive watchdog timeout.", "NetworkAdapterHang"),
    (
        "ena 0000:00:05.0 eth0: The number of lost tx completions is above the threshold (129 > 128). "
        "Reset the device",
        "NetworkAdapterHang",
    ),
    # Physical link loss. "NIC Link is Down": ixgbe/ixgbevf/i40e/ice/bnxt_en/vmxnet3/e1000e
    # (netdev_info since 3.x), e1000e 2.6 printk "e1000e: %s NIC Link is Down", e1000's pr_info
    # under pr_fmt "e1000: ", igb's "igb: %s NIC Link is Down", bnx2 "NIC %s Link is Down".
    ("ixgbe 0000:01:00.0 eth0: NIC Link is Down", "NetworkLinkDown"),
    ("ixgbevf 0000:00:03.0 eth0: NIC Link is Down", "NetworkLinkDown"),
    ("e1000e: eth0 NIC Link is Down", "NetworkLinkDown"),
    ("e1000: eth0 NIC Link is Down", "NetworkLinkDown"),
    ("e1000e 0000:00:19.0 eth0: NIC Link is Down", "NetworkLinkDown"),
    ("igb 0000:02:00.0 eno1: igb: eno1 NIC Link is Down", "NetworkLinkDown"),
    ("i40e 0000:3b:00.0 eth0: NIC Link is Down", "NetworkLinkDown"),
    ("ice 0000:3b:00.0 ens1f0: NIC Link is Down", "NetworkLinkDown"),
    ("bnxt_en 0000:3b:00.0 eth0: NIC Link is Down", "NetworkLinkDown"),
    ("bnx2 0000:01:00.0 eth0: NIC Copper Link is Down", "NetworkLinkDown"),
    ("vmxnet3 0000:0b:00.0 ens192: NIC Link is Down", "NetworkLinkDown"),
    # "Link down" after the netdev prefix: mlx5e_update_carrier(), mlx4_en "Link Down",
    # tg3_link_report() "Link is down".
    ("mlx5_core 0000:3b:00.0 ens1f0: Link down", "NetworkLinkDown"),
    ("mlx5_core 0000:af:00.1 ens2f1np1: Link down", "NetworkLinkDown"),
    ("mlx4_en: eth0: Link Down", "NetworkLinkDown"),
    ("tg3 0000:02:00.0 eth0: Link is down", "NetworkLinkDown"),
    # gve_handle_link_status() (GCE gVNIC), qede_link_update() DP_NOTICE.
    ("gve 0000:00:04.0: Device link is down.", "NetworkLinkDown"),
    ("[qede_link_update:1286(ens1f0)]Link is down", "NetworkLinkDown"),
    # drivers/net/bonding/bond_main.c bond_miimon_commit()/bond_ab_arp_commit(): netdev_info
    # wording until 5.3, slave_info() wording from 5.4.
    ("bond0: link status definitely down for interface eth1, disabling it", "BondLinkDown"),
    ("bond1: link status definitely down for interface ens19, disabling it", "BondLinkDown"),
    # 2.4/2.6-era bonding with no backup slave left (sourceforge bonding bug #2).
    (
        "bond0: link status definitely down for interface eth0, disabling it "
        "but could not find any backup interface",
        "BondLinkDown",
    ),
    ("bond0: (slave eth1): link status definitely down, disabling slave", "BondLinkDown"),
    # bond_select_active_slave(): pr_info with a space before "!" in 2.6/3.x, netdev_info later.
    ("bond0: now running without any active interface!", "BondDown"),
    ("bond0: now running without any active interface !", "BondDown"),
    # net/sunrpc/clnt.c call_timeout()/rpc_check_timeout(): "%s: server %s not responding, ..."
    # with the RPC program name (nfs, lockd, rpcbind, ...); hard mounts retry, soft ones time out.
    ("nfs: server 10.0.0.5 not responding, still trying", "NFSServerNotResponding"),
    ("nfs: server nfs.example.com not responding, timed out", "NFSServerNotResponding"),
    ("lockd: server 10.0.0.5 not responding, still trying", "NFSServerNotResponding"),
    ("rpcbind: server localhost not responding, timed out", "NFSServerNotResponding"),
    # fs/nfs/nfs4state.c: "%s: Lock reclaim failed!" (printk in 2.6/3.x, pr_warn_ratelimited
    # with "NFS: " later, from __nfs4_reclaim_open_state in 4.x+), and the per-server summary
    # "NFS: %s: lost %d locks".
    ("nfs4_reclaim_open_state: Lock reclaim failed!", "NFSLockReclaimFailed"),
    ("NFS: nfs4_reclaim_open_state: Lock reclaim failed!", "NFSLockReclaimFailed"),
    ("NFS: __nfs4_reclaim_open_state: Lock reclaim failed!", "NFSLockReclaimFailed"),
    ("NFS: 10.0.0.5: lost 3 locks", "NFSLockReclaimFailed"),
    # fs/lockd/clntlock.c reclaimer(): NFSv3 locks the server refused to give back after its reboot.
    ("lockd: failed to reclaim lock for pid 11265 (errno 0, status 7)", "NFSLockReclaimFailed"),
    # fs/nfs/nfs4state.c: nfs4_state_mark_open_context_bad(), nfs4_reclaim_open_state() default
    # case (2.6 "Zeroing state"), nfs4_discover_server_trunking(), nfs4_state_manager().
    (
        "NFSv4: state recovery failed for open file git2/github.com.rpm-software-management.dnf.git.lock, "
        "error = -524",
        "NFSStateRecoveryFailed",
    ),
    ("NFS: nfs4_reclaim_open_state: unhandled error -10026", "NFSStateRecoveryFailed"),
    ("nfs4_reclaim_open_state: unhandled error -121. Zeroing state", "NFSStateRecoveryFailed"),
    (
        "NFS: nfs4_discover_server_trunking unhandled error -512. Exiting with error EIO",
        "NFSStateRecoveryFailed",
    ),
    (
        "NFS: state manager: check lease failed on NFSv4 server 10.0.0.5 with error 13",
        "NFSStateRecoveryFailed",
    ),
    ("Error: state manager failed on NFSv4 server 10.0.0.5 with error 5", "NFSStateRecoveryFailed"),
    # fs/nfs/inode.c nfs_check_inode_attributes()/nfs_update_inode(): one printk of two lines.
    ("NFS: server 10.0.0.5 error: fileid changed", "NFSServerError"),
    (
        r"NFS: server nas01 error: fileid changed\x0afsid 0:52: expected fileid 0x2a0005, got 0x2a0107",
        "NFSServerError",
    ),
    # drivers/scsi/scsi_transport_iscsi.c iscsi_conn_error_event(), iscsi_cls_conn_printk prefix
    # "connection%d:%d"; the 2.6.18 open-iscsi module printed "iscsi: ...".
    ("connection1:0: detected conn error (1020)", "ISCSIConnectionError"),
    ("connection2:0: detected conn error (1022)", "ISCSIConnectionError"),
    ("iscsi: detected conn error (1011)", "ISCSIConnectionError"),
    # drivers/scsi/libiscsi.c iscsi_check_transport_timeouts(): 3.x+ with "recv timeout", 2.6.2x
    # without the connection prefix; iscsi_tcp.c when crc32c cannot be loaded.
    (
        "connection2:0: ping timeout of 5 secs expired, recv timeout 5, last rx 4295215030, "
        "last ping 4295220032, now 4295225056",
        "ISCSIConnectionError",
    ),
    (
        "ping timeout of 5 secs expired, last rx 4294902512, last ping 4294907512, now 4294912512",
        "ISCSIConnectionError",
    ),
    # As pasted: cut after "last ping" (open-iscsi#97), trailing blanks (a blog's syslog copy).
    (
        "connection10:0: ping timeout of 15 secs expired, recv timeout 5, last rx 10236428121, last ping ",
        "ISCSIConnectionError",
    ),
    (
        "connection1:0: Could not create connection due to crc32c loading error. Make sure the crc32c "
        "module is built as a module or into the kernel",
        "ISCSIConnectionError",
    ),
    # scsi_transport_iscsi.c session_recovery_timedout(): the LUNs are offlined after this.
    ("session1: session recovery timed out after 120 secs", "ISCSISessionRecoveryTimedOut"),
    ("session3: session recovery timed out after 5 secs", "ISCSISessionRecoveryTimedOut"),
    ("iscsi: session recovery timed out after 120 secs", "ISCSISessionRecoveryTimedOut"),
]

NEAR_MISSES = [
    # Link up, bring-up and pod churn: container networking floods these and none is a problem.
    "ixgbe 0000:01:00.0 eth0: NIC Link is Up 10 Gbps, Flow Control: RX/TX",
    "mlx5_core 0000:3b:00.0 ens1f0: Link up",
    "r8169 0000:01:00.0 enp1s0: Link is Up - 1Gbps/Full - flow control rx/tx",
    "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready",
    "IPv6: ADDRCONF(NETDEV_UP): eth0: link is not ready",
    "eth0: renamed from veth1234",
    "cni0: port 3(veth3f2a1b2c) entered disabled state",
    "docker0: port 1(veth9a8b7c6) entered blocking state",
    "device veth123 entered promiscuous mode",
    # phylib's phy_print_status() (r8169 on 5.x+, bcmgenet, mvneta) and r8169's 3.x
    # rtl8169_check_link_status() print these on every interface bring-up, before autoneg.
    "r8169 0000:01:00.0 enp1s0: Link is Down",
    "bcmgenet fd580000.ethernet eth0: Link is Down",
    "r8169 0000:02:00.0 eth0: link down",
    # Link loss of other buses: a SATA port and a PCIe hotplug slot are not network links.
    "ata1: SATA link down (SStatus 0 SControl 300)",
    "pcieport 0000:00:1c.0: pciehp: Slot(1): Link Down",
    # A bond member that recovers within downdelay, and a healthy failover.
    "bond0: (slave eth1): link status down for interface, disabling it in 200 ms",
    "bond0: (slave eth1): link status definitely up, 10000 Mbps full duplex",
    "bond0: active interface up!",
    # Conntrack set-up and the rate-limit summary after a flood.
    "nf_conntrack version 0.5.0 (65536 buckets, 262144 max)",
    "net_ratelimit: 1234 callbacks suppressed",
    # Recovery lines and server-side state directory.
    "nfs: server 10.0.0.5 OK",
    "lockd: server 10.0.0.5 OK",
    "NFSD: Using /var/lib/nfs/v4recovery as the NFSv4 state recovery directory",
    # iSCSI login.
    "scsi host2: iSCSI Initiator over TCP/IP",
    "iscsi: registered transport (tcp)",
]


@pytest.mark.parametrize(("line", "reason"), POSITIVE, ids=[f"{r}-{i}" for i, (_, r) in enumerate(POSITIVE)])
def test_problem_line_gives_one_report(line: str, reason: str) -> None:
    assert reasons(CONFIG, [line]) == [reason]


@pytest.mark.parametrize("line", NEAR_MISSES)
def test_near_miss_is_silent(line: str) -> None:
    assert reasons(CONFIG, [line]) == []


def test_reports_are_events_with_the_matched_line() -> None:
    line = "nfs: server 10.0.0.5 not responding, still trying"
    [found] = findings(CONFIG, [line])
    assert (found.condition, found.message) == ("", line)


def test_bonded_nic_loss_gives_one_report_per_layer() -> None:
    # A bonded NIC losing carrier: the driver line, the bond dropping its member, the bond
    # losing its last member, then the bridge above it (pod networking noise).
    lines = [
        "ixgbe 0000:03:00.1 eth1: NIC Link is Down",
        "bond0: (slave eth1): link status definitely down, disabling slave",
        "bond0: now running without any active interface!",
        "br0: port 1(bond0) entered disabled state",
    ]
    assert reasons(CONFIG, lines) == ["NetworkLinkDown", "BondLinkDown", "BondDown"]


def test_nfs_outage_and_recovery() -> None:
    lines = [
        "nfs: server 10.0.0.5 not responding, still trying",
        "nfs: server 10.0.0.5 OK",
    ]
    assert reasons(CONFIG, lines) == ["NFSServerNotResponding"]


def test_the_third_link_down_within_ten_minutes_is_flapping() -> None:
    down = "ixgbe 0000:01:00.0 eth0: NIC Link is Down"
    found = findings(CONFIG, [down, "ixgbe 0000:01:00.0 eth0: NIC Link is Up 10 Gbps", down, down])
    assert [(f.reason, f.condition) for f in found] == [
        ("NetworkLinkDown", ""),
        ("NetworkLinkDown", ""),
        ("NetworkLinkDown", ""),
        ("NetworkLinkFlapping", "NetworkLinkFlapping"),
    ]


def test_link_flapping_clears_after_half_an_hour_without_a_link_down() -> None:
    config = bundled(CONFIG)
    tracker = ProblemTracker(config, None, 0.0)
    matcher = rule_matcher(config)
    down = "mlx5_core 0000:3b:00.0 ens1f0: Link down"
    for minute in (0, 4, 8, 20):  # the first three within ten minutes
        for match in matcher.feed(RecordBatch([LogRecord(minute * 60.0, down)], None)):
            tracker.match(match)
    [flapping] = [c for c in tracker.conditions if c.type == "NetworkLinkFlapping"]
    assert flapping.status is ConditionStatus.TRUE
    assert tracker.next_deadline() == 50 * 60.0, "half an hour after the last link-down"
    assert tracker.tick(49 * 60.0) == []
    [report] = tracker.tick(50 * 60.0)
    assert report.condition is not None and report.condition.status is ConditionStatus.FALSE
