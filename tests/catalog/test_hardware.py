"""The hardware catalog (hardware-monitor.json): machine checks, thermal, CPER, memory, NVIDIA Xid, PCIe AER.

Every positive line is real kernel or driver wording; the comment above a group names the source
(kernel file and the printk format string, or NVIDIA's Xid catalog) and the kernel generations
whose wording it covers. Each case runs through a fresh monitor with the real engine.
"""

from __future__ import annotations

import pytest

from tests.catalog.harness import bundled, findings, reasons

CONFIG = "hardware-monitor.json"

MEMORY = "MemoryHardwareFailure"
GPU = "GPUUnhealthy"
CPER = "CperHardwareErrorFatal"

# (line, reason, condition): condition is "" for a temporary event.
POSITIVE: list[tuple[str, str, str]] = [
    # arch/x86/kernel/cpu/mce/core.c mce_notify_irq(): pr_info(HW_ERR "Machine check events logged\n");
    # "mce: " pr_fmt since 4.x, bare HW_ERR on 3.x (RHEL 7), no HW_ERR on 2.6.3x.
    ("mce: [Hardware Error]: Machine check events logged", "MachineCheckEvent", ""),
    ("[Hardware Error]: Machine check events logged", "MachineCheckEvent", ""),
    ("Machine check events logged", "MachineCheckEvent", ""),
    # mce/core.c __print_mce(): HW_ERR "CPU %d: Machine Check%s: %Lx Bank %d: %016Lx"; MCi_STATUS bit 61
    # (UC) clear, i.e. first hex digit 8, 9, c or d: a corrected error.
    ("mce: [Hardware Error]: CPU 2: Machine Check: 0 Bank 3: cc5eb2c000100135", "CorrectedMachineCheck", ""),
    ("[Hardware Error]: CPU 0: Machine Check: 0 Bank 6: 8c00004000010090", "CorrectedMachineCheck", ""),
    ("mce: [Hardware Error]: CPU 5: Machine Check: 0 Bank 1: 9000004000010005", "CorrectedMachineCheck", ""),
    # drivers/edac/mce_amd.c decode_error_status(): AMD's decoded summary line.
    ("[Hardware Error]: Corrected error, no action required.", "CorrectedMachineCheck", ""),
    # arch/x86/kernel/cpu/mce/intel.c: a storm of corrected errors switches CMCI to polling.
    ("mce: CMCI storm detected: switching to poll mode", "CorrectedMachineCheck", ""),
    ("CMCI storm detected: switching to poll mode", "CorrectedMachineCheck", ""),
    ("mce: CPU3 BANK7 CMCI storm detected", "CorrectedMachineCheck", ""),
    # __print_mce() with UC set (first hex digit a, b, e or f), with and without MCIP (" Exception").
    (
        "mce: [Hardware Error]: CPU 2: Machine Check Exception: 5 Bank 4: b200000000070005",
        "UncorrectedMachineCheck",
        "",
    ),
    (
        "mce: [Hardware Error]: CPU 0: Machine Check: 0 Bank 5: bea0000000000108",
        "UncorrectedMachineCheck",
        "",
    ),
    (
        "[Hardware Error]: CPU 2: Machine Check Exception: 4 Bank 4: b200000000070005",
        "UncorrectedMachineCheck",
        "",
    ),
    (
        "mce: [Hardware Error]: CPU 1: Machine Check Exception: 5 Bank 2: bf80000000000124",
        "UncorrectedMachineCheck",
        "",
    ),
    # mce_amd.c decode_error_status(): uncorrected and deferred summaries.
    ("[Hardware Error]: Uncorrected, software restartable error.", "UncorrectedMachineCheck", ""),
    ("[Hardware Error]: Uncorrected, software containable error.", "UncorrectedMachineCheck", ""),
    ("[Hardware Error]: Deferred error, no action required.", "UncorrectedMachineCheck", ""),
    ("[Hardware Error]: Deferred error.", "UncorrectedMachineCheck", ""),
    # 3.x amd_decode_mce() summary with its "Error Status: " label (pasted from a 3.x amd64_edac host).
    ("[Hardware Error]: Error Status: Corrected error, no action required.", "CorrectedMachineCheck", ""),
    # 2.6-era do_machine_check() wording without HW_ERR and without the bank record on the same
    # line: the exception itself (MCIP set) is reported, the panic that follows is fatal.
    ("CPU 0: Machine Check Exception: 0000000000000004", "UncorrectedMachineCheck", ""),
    ("CPU 0: Machine Check Exception", "UncorrectedMachineCheck", ""),
    ("Kernel panic: CPU context corrupt", "FatalMachineCheck", ""),
    # mce_panic(): pr_emerg(HW_ERR "Machine check: %s\n", exp) then panic(msg); msg wording from
    # 2.6.3x ("Fatal Machine check") to 6.x ("Fatal machine check", mce_timed_out() timeouts).
    ("mce: [Hardware Error]: Machine check: Processor context corrupt", "FatalMachineCheck", ""),
    (
        "mce: [Hardware Error]: Machine check: Data load in unrecoverable area of kernel",
        "FatalMachineCheck",
        "",
    ),
    ("[Hardware Error]: Machine check: Processor context corrupt", "FatalMachineCheck", ""),
    ("Machine check: Processor context corrupt", "FatalMachineCheck", ""),
    ("Kernel panic - not syncing: Fatal machine check", "FatalMachineCheck", ""),
    ("Kernel panic - not syncing: Fatal Machine check", "FatalMachineCheck", ""),
    ("Kernel panic - not syncing: Fatal machine check on current CPU", "FatalMachineCheck", ""),
    ("Kernel panic - not syncing: Timeout synchronizing machine check over CPUs", "FatalMachineCheck", ""),
    (
        "Kernel panic - not syncing: Timeout: Not all CPUs entered broadcast exception handler",
        "FatalMachineCheck",
        "",
    ),
    ("Kernel panic - not syncing: Machine check from unknown source", "FatalMachineCheck", ""),
    ("[Hardware Error]: System Fatal error.", "FatalMachineCheck", ""),
    # mce/therm_throt.c: "CPU%d: %s temperature above threshold, cpu clock throttled (total events = %lu)";
    # "mce: " prefix on 5.x+, no Core/Package level before 2.6.3x, bare "Temperature above threshold"
    # on 2.6 P4.
    (
        "CPU3: Core temperature above threshold, cpu clock throttled (total events = 1234)",
        "CPUThermalThrottling",
        "",
    ),
    (
        # As typed from a boot screen into xanmod/linux#15: "CPU clock" in capitals.
        "CPU0: Package temperature above threshold, CPU clock throttled (total events = 1)",
        "CPUThermalThrottling",
        "",
    ),
    (
        "CPU3: Package temperature above threshold, cpu clock throttled (total events = 5)",
        "CPUThermalThrottling",
        "",
    ),
    (
        "mce: CPU4: Package temperature above threshold, cpu clock throttled (total events = 1)",
        "CPUThermalThrottling",
        "",
    ),
    ("CPU1: Temperature above threshold, cpu clock throttled (total events = 1)", "CPUThermalThrottling", ""),
    ("CPU0: Temperature above threshold", "CPUThermalThrottling", ""),
    # drivers/thermal/thermal_core.c (4.x/5.x: "critical temperature reached (%d C), shutting down",
    # 6.x: "%s: critical temperature reached") and drivers/acpi/thermal.c (old).
    ("thermal thermal_zone0: critical temperature reached (105 C), shutting down", "ThermalShutdown", ""),
    ("thermal thermal_zone7: x86_pkg_temp: critical temperature reached", "ThermalShutdown", ""),
    ("thermal thermal_zone2: acpitz: critical temperature reached, shutting down", "ThermalShutdown", ""),
    ("Critical temperature reached (100 C), shutting down.", "ThermalShutdown", ""),
    # drivers/firmware/efi/cper.c cper_estatus_print(): "%sevent severity: %s" (upstream's rules).
    ("{1}[Hardware Error]: event severity: corrected", "CperHardwareErrorCorrected", ""),
    ("[Hardware Error]: event severity: corrected", "CperHardwareErrorCorrected", ""),
    ("{3}[Hardware Error]: event severity: recoverable", "CperHardwareErrorRecoverable", ""),
    ("{1}[Hardware Error]: event severity: fatal", "CperHardwareErrorFatal", CPER),
    # drivers/acpi/apei/ghes.c __ghes_panic(): panic("Fatal hardware error!"), "GHES: " prefix on 6.x.
    ("Kernel panic - not syncing: Fatal hardware error!", "CperHardwareErrorFatal", CPER),
    ("Kernel panic - not syncing: GHES: Fatal hardware error", "CperHardwareErrorFatal", CPER),
    ("GHES: Fatal hardware error but panic disabled", "CperHardwareErrorFatal", CPER),
    # drivers/edac/edac_mc.c edac_ce_error(): "%d CE %s%son %s (%s ...)" (3.5+), via sb_edac, skx_edac,
    # i7core_edac, amd64_edac and ghes_edac; older "CE page 0x%lx, ..." and
    # "CE - no information available: %s".
    (
        "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x2b1c5 "
        "offset:0x440 grain:32 syndrome:0x0 - area:DRAM err_code:0001:0091 socket:0 ha:0 channel_mask:2 "
        "rank:1)",
        "MemoryReadError",
        "",
    ),
    (
        "EDAC MC2: 1 CE memory read error on CPU_SrcID#1_MC#0_Chan#0_DIMM#0 (channel:0 slot:0 page:0x4f2c1b "
        "offset:0x380 grain:32 syndrome:0x0 - err_code:0x0000:0x009f socket:1 imc:0 rank:0 bg:1 ba:2 "
        "row:0x1d2a col:0x3b0)",
        "MemoryReadError",
        "",
    ),
    (
        "EDAC MC0: 5 CE memory scrubbing error on DIMM_A1 (channel:0 slot:0 page:0x7ffff offset:0x0 grain:32 "
        "syndrome:0x0 - area:DRAM err_code:0008:00c0 socket:0 ha:0 channel_mask:1 rank:0)",
        "MemoryReadError",
        "",
    ),
    (
        "EDAC MC0: 1 CE read error on CPU#0Channel#1_DIMM#0 (channel:1 slot:0 page:0x0 offset:0x0 grain:8 "
        "syndrome:0x0 - area:DRAM err_code:0001:0091 socket:0 channel_mask:2 rank:0)",
        "MemoryReadError",
        "",
    ),
    (
        "EDAC MC0: 1 CE on mc#0csrow#1channel#0 (csrow:1 channel:0 page:0x36bed2 offset:0x0 grain:64 "
        "syndrome:0x3f00)",
        "MemoryReadError",
        "",
    ),
    (
        "EDAC MC0: 1 CE Single-bit ECC on unknown memory (node:0 card:0 module:0 rank:0 bank:0 row:0 col:0 "
        "bit_pos:0 page:0x1 offset:0x0 grain:1 syndrome:0x0 - APEI location: node:0 card:0 module:0 rank:0)",
        "MemoryReadError",
        "",
    ),
    (
        'EDAC MC1: CE page 0xfbf6f, offset 0x4d0, grain 8, syndrome 0xc8f4, row 1, channel 0, label "": '
        "k8_edac",
        "MemoryReadError",
        "",
    ),
    ("EDAC MC1: CE - no information available: k8_edac Error Overflow set", "MemoryReadError", ""),
    # drivers/edac/i7core_edac.c i7core_udimm_check_mc_ecc_err(): unregistered DIMM counters (3.x).
    ("EDAC i7core: New Corrected error(s): dimm0: +1, dimm1: +0, dimm2 +0", "MemoryReadError", ""),
    # edac_mc.c edac_ue_error(): "%d UE %s%son %s (...)"; old "UE page ...", "UE row %d, ..." (fbd).
    (
        "EDAC MC1: 1 UE memory read error on CPU_SrcID#1_Ha#0_Chan#0_DIMM#0 (channel:0 slot:0 page:0x0 "
        "offset:0x0 grain:32 - area:DRAM err_code:0000:009f socket:1 ha:0 channel_mask:1 rank:0)",
        "MemoryUncorrectableError",
        MEMORY,
    ),
    (
        "EDAC MC0: 1 UE on mc#0csrow#0channel#0 (csrow:0 channel:0 page:0x79d6c8 offset:0x440 grain:64)",
        "MemoryUncorrectableError",
        MEMORY,
    ),
    ('EDAC MC0: UE row 2, channel 0, label "": i5000 UE', "MemoryUncorrectableError", MEMORY),
    ("EDAC MC0: UE - no information available: UE bit is set", "MemoryUncorrectableError", MEMORY),
    # mm/memory-failure.c action_result(): "Memory failure: %#lx: recovery action for %s: %s" (4.x+),
    # "MCE %#lx: %s page recovery: %s" (3.x); and the other per-page outcomes.
    (
        "Memory failure: 0x8a398a: recovery action for dirty LRU page: Recovered",
        "MemoryUncorrectableError",
        MEMORY,
    ),
    (
        "Memory failure: 0x12345: recovery action for free buddy page: Delayed",
        "MemoryUncorrectableError",
        MEMORY,
    ),
    (
        "Memory failure: 0x3fe2a1: recovery action for reserved kernel page: Ignored",
        "MemoryUncorrectableError",
        MEMORY,
    ),
    ("MCE 0x1234: dirty LRU page recovery: Recovered", "MemoryUncorrectableError", MEMORY),
    ("Memory failure: 0x8a398a: already hardware poisoned", "MemoryUncorrectableError", MEMORY),
    ("MCE 0x8a398a: already hardware poisoned", "MemoryUncorrectableError", MEMORY),
    # mce/core.c kill_me_maybe()/kill_me_never()/do_memory_failure(): poison consumed from user space.
    (
        "mce: Uncorrected hardware memory error in user-access at 8a398a400",
        "MemoryUncorrectableError",
        MEMORY,
    ),
    ("mce: Kernel accessed poison in user space at 3f3a1c0400", "MemoryUncorrectableError", MEMORY),
    ("mce: Memory error not recovered", "MemoryUncorrectableError", MEMORY),
    # edac_ue_error() with edac_mc_panic_on_ue: panic("UE %s%son %s (...)").
    (
        "Kernel panic - not syncing: UE memory read error on CPU_SrcID#0_Ha#0_Chan#0_DIMM#0",
        "MemoryUncorrectableError",
        MEMORY,
    ),
    # mm/memory-failure.c kill_proc(), arch/x86/mm/fault.c do_sigbus() and mce/core.c kill_me_maybe().
    (
        "Memory failure: 0x1234: Sending SIGBUS to java:1234 due to hardware memory corruption",
        "ProcessKilledByMemoryError",
        "",
    ),
    (
        "Memory failure: 0x1840200: Killing cellsrv:33395 due to hardware memory corruption",
        "ProcessKilledByMemoryError",
        "",
    ),
    ("MCE 0x1234: Killing java:1234 due to hardware memory corruption", "ProcessKilledByMemoryError", ""),
    (
        "MCE 0x1234: Killing java:1234 early due to hardware memory corruption",
        "ProcessKilledByMemoryError",
        "",
    ),
    (
        "MCE: Killing java:1234 due to hardware memory corruption fault at 7f3c2a1b2000",
        "ProcessKilledByMemoryError",
        "",
    ),
    (
        "Memory failure: 0x1234: forcibly killing java:1234 because of failure to unmap corrupted page",
        "ProcessKilledByMemoryError",
        "",
    ),
    (
        "mce: Memory error may not recovered: 0x1234: Sending SIGBUS to Web Content:4321 due to hardware "
        "memory corruption",
        "ProcessKilledByMemoryError",
        "",
    ),
    # mm/memory-failure.c soft_offline_page() and mm/madvise.c MADV_SOFT_OFFLINE ("Soft offlining page %lx
    # at %lx" on 2.6.33-3.x, "Soft offlining pfn %#lx at process virtual address %#lx" later).
    (
        "soft offline: 0x118ee0: hugepage isolation failed: 0, page count 2, type 7fff800001000e "
        "(referenced|uptodate|dirty|head)",
        "MemoryPageSoftOffline",
        "",
    ),
    ("soft offline: 0x1234 page already poisoned", "MemoryPageSoftOffline", ""),
    # drivers/ras/cec.c: the Correctable Errors Collector offlines a page after repeated CEs; 5.x+
    # soft_offline_page() failures carry memory-failure.c's "Memory failure: " pr_fmt.
    ("RAS: Soft-offlining pfn: 0x10cb39", "MemoryPageSoftOffline", ""),
    (
        "Memory failure: 0x2b1c5: page migration failed -16, type 0x17ffffc0010000(lru)",
        "MemoryPageSoftOffline",
        "",
    ),
    (
        "Memory failure: 0x118ee0: hugepage isolation failed, page count 2, type 0x7fff800001000e(head)",
        "MemoryPageSoftOffline",
        "",
    ),
    ("soft offline: 0x2b1c5: migration failed 1, type 2fffff80000000", "MemoryPageSoftOffline", ""),
    ("Soft offlining pfn 0x1e86e00 at process virtual address 0x7f221b800000", "MemoryPageSoftOffline", ""),
    ("Soft offlining page 2b1c5 at 7f3c2a1b2000", "MemoryPageSoftOffline", ""),
    # NVIDIA Xid catalog (docs.nvidia.com/deploy/xid-errors); "Xid (PCI:dddd:bb:dd)" on current drivers,
    # "Xid (dddd:bb:dd)" on old ones, with or without "pid=..., name=...".
    (
        "NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.",
        "GPUFallenOffBus",
        GPU,
    ),
    ("NVRM: Xid (PCI:0000:02:00): 79, GPU has fallen off the bus.", "GPUFallenOffBus", GPU),
    (
        "NVRM: Xid (0000:03:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.",
        "GPUFallenOffBus",
        GPU,
    ),
    ("NVRM: GPU 0000:3b:00.0: GPU has fallen off the bus.", "GPUFallenOffBus", GPU),
    ("NVRM: GPU at 0000:01:00.0 has fallen off the bus.", "GPUFallenOffBus", GPU),
    (
        "NVRM: Xid (0000:3b:00): 48, An uncorrectable double bit error (DBE) has been detected on GPU in the "
        "framebuffer at partition 6, subpartition 0.",
        "GPUUncorrectableECCError",
        GPU,
    ),
    (
        "NVRM: Xid (PCI:0000:04:00): 48, pid=5521, name=train.py, DBE (0x1) detected",
        "GPUUncorrectableECCError",
        GPU,
    ),
    (
        "NVRM: Xid (PCI:0000:b7:00): 95, pid=2345, name=python3, Uncontained: FBHUB. RST: Yes, D-RST: No",
        "GPUUncorrectableECCError",
        GPU,
    ),
    ("NVRM: Xid (PCI:0000:b7:00): 64, pid=2345, name=python3, Row Remapper Error", "GPURowRemapFailure", GPU),
    ("NVRM: Xid (PCI:0000:07:00): 64, ECC page retirement recording failure", "GPURowRemapFailure", GPU),
    (
        "NVRM: Xid (PCI:0000:1b:00): 119, pid=1234, name=python, Timeout after 6s of waiting for RPC "
        "response "
        "from GPU0 GSP! Expected function 76 (GSP_RM_CONTROL) (0x20801348 0x4).",
        "GPUGSPError",
        GPU,
    ),
    (
        "NVRM: Xid (PCI:0000:1b:00): 120, pid=1234, name=python, GSP task exception: NV_ERR_GENERIC",
        "GPUGSPError",
        GPU,
    ),
    (
        "NVRM: Xid (PCI:0000:02:00): 154, GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot "
        "Required)",
        "GPURecoveryRequired",
        GPU,
    ),
    (
        "NVRM: Xid (PCI:0008:01:00): 154, GPU recovery action changed from 0x0 (None) to 0x1 (GPU Reset "
        "Required)",
        "GPURecoveryRequired",
        GPU,
    ),
    (
        "NVRM: nvGpuOpsReportFatalError: uvm encountered global fatal error 0x60, requiring os reboot to "
        "recover.",
        "GPURecoveryRequired",
        GPU,
    ),
    ("NVRM: GPU 0000:3b:00.0: RmInitAdapter failed! (0x26:0xffff:1290)", "GPUInitFailed", GPU),
    ("NVRM: RmInitAdapter failed! (0x62:0x65:2028)", "GPUInitFailed", GPU),
    ("NVRM: GPU 0000:02:00.0: rm_init_adapter failed, device minor number 0", "GPUInitFailed", GPU),
    ("NVRM: rm_init_adapter failed for device bearing minor number 0", "GPUInitFailed", GPU),
    (
        "NVRM: Xid (PCI:0000:10:1c): 63, pid=1896, Row Remapper: New row marked for remapping, reset gpu to "
        "activate.",
        "GPURowRemapEvent",
        "",
    ),
    ("NVRM: Xid (PCI:0000:07:00): 63, ECC page retirement recording event", "GPURowRemapEvent", ""),
    (
        "NVRM: Xid (PCI:0000:b7:00): 74, pid=2345, name=python3, NVLink: fatal error detected on link 3"
        "(0x10000, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0)",
        "GPUNVLinkError",
        "",
    ),
    (
        "NVRM: Xid (PCI:0000:86:00): 92, pid=7012, High single-bit ECC error rate",
        "GPUHighSingleBitECCRate",
        "",
    ),
    (
        "NVRM: Xid (PCI:0000:b7:00): 94, pid=2345, name=python3, Contained: SM (0x1). RST: No, D-RST: No",
        "GPUContainedECCError",
        "",
    ),
    ("NVRM: Xid (PCI:0000:02:00): 13, Graphics Engine Exception", "GPUApplicationError", ""),
    (
        "NVRM: Xid (PCI:0000:02:00): 13, pid=25450, Graphics SM Global Exception on (GPC 0, TPC 1, SM 1): "
        "Multiple Warp Errors",
        "GPUApplicationError",
        "",
    ),
    (
        "NVRM: Xid (PCI:0000:08:00): 31, pid=1234, Ch 00000008, intr 10000000. MMU Fault: ENGINE GRAPHICS "
        "GPCCLIENT_T1_0 faulted @ 0x7f_12340000. Fault is of type FAULT_PDE ACCESS_TYPE_READ",
        "GPUApplicationError",
        "",
    ),
    ("NVRM: Xid (0000:01:00): 31, Ch 0000000b, engmask 00000120, intr 10000000", "GPUApplicationError", ""),
    ("NVRM: Xid (PCI:0000:08:00): 43, pid=1234, Ch 00000010", "GPUApplicationError", ""),
    ("NVRM: Xid (PCI:0000:01:00): 8, pid=1234, name=Xorg, Channel 00000010", "GPUXidError", ""),
    ("NVRM: Xid (PCI:0000:01:00): 32, Channel ID 00000005 intr 00008000", "GPUXidError", ""),
    ("NVRM: Xid (PCI:0000:01:00): 38, 0000000c 00000000 00000000 00000000", "GPUXidError", ""),
    ("NVRM: Xid (PCI:0000:01:00): 44, Ch 00000010, intr 00000000", "GPUXidError", ""),
    ("NVRM: Xid (PCI:0000:01:00): 61, pid=1234, 0cec(3098) 00000000 00000000", "GPUXidError", ""),
    ("NVRM: Xid (PCI:0000:01:00): 62, 0096(1c54) 00000000 00000000", "GPUXidError", ""),
    (
        "NVRM: Xid (PCI:0000:08:00): 69, Class Error: ChId 003b, Class 0000c197, Offset 00002040, "
        "Data 00004b30, ErrorCode 0000000c",
        "GPUXidError",
        "",
    ),
    (
        "NVRM: Xid (PCI:0000:0d:00): 51, BAD_TSG encountered on runlist: 0 with error code: 4",
        "GPUXidError",
        "",
    ),
    ("NVRM: A GPU crash dump has been created. If possible, please run", "GPUCrashDump", ""),
    # drivers/pci/pcie/aer.c aer_print_port_info(): "%s%s error received: ..." (id=%04x on 3.x/4.x,
    # dddd:bb:dd.f on 5.x+), "error message received from" and "Correctable/Uncorrectable" on 6.x.
    ("pcieport 0000:00:1c.5: AER: Corrected error received: 0000:00:1c.5", "PCIeCorrectedError", ""),
    ("pcieport 0000:00:02.0: AER: Multiple Corrected error received: id=0010", "PCIeCorrectedError", ""),
    (
        "pcieport 0000:00:1c.5: AER: Correctable error message received from 0000:02:00.0",
        "PCIeCorrectedError",
        "",
    ),
    (
        "pcieport 0000:00:03.0: AER: Uncorrected (Non-Fatal) error received: 0000:03:00.0",
        "PCIeUncorrectedError",
        "",
    ),
    (
        "pcieport 0000:00:1c.0: AER: Multiple Uncorrectable (Non-Fatal) error message received from "
        "0000:73:00.1",
        "PCIeUncorrectedError",
        "",
    ),
    ("pcieport 0000:00:03.0: AER: Uncorrected (Fatal) error received: 0000:03:00.0", "PCIeFatalError", ""),
    ("pcieport 0000:00:01.0: AER: Uncorrected (Fatal) error received: id=0008", "PCIeFatalError", ""),
    # aer.c aer_print_error(): "PCIe Bus Error: severity=%s, type=%s, (%s)" ("id=%04x(%s)" on 3.x/4.x).
    (
        "pcieport 0000:00:1c.5: PCIe Bus Error: severity=Corrected, type=Physical Layer, (Receiver ID)",
        "PCIeCorrectedError",
        "",
    ),
    (
        "pcieport 0000:00:02.0: PCIe Bus Error: severity=Corrected, type=Data Link Layer, id=0010(Receiver "
        "ID)",
        "PCIeCorrectedError",
        "",
    ),
    (
        "pcieport 0000:00:03.2: PCIe Bus Error: severity=Uncorrected (Non-Fatal), type=Transaction Layer, "
        "(Requester ID)",
        "PCIeUncorrectedError",
        "",
    ),
    (
        "pcieport 0000:00:01.0: PCIe Bus Error: severity=Uncorrected (Fatal), type=Transaction Layer, "
        "(Receiver ID)",
        "PCIeFatalError",
        "",
    ),
    (
        "pcieport 0000:00:1c.0: PCIe Bus Error: severity=Uncorrectable (Fatal), type=Inaccessible, "
        "(Unregistered Agent ID)",
        "PCIeFatalError",
        "",
    ),
    # drivers/pci/pcie/dpc.c dpc_process_error(): "containment event, status:%#06x source:%#06x" (4.x/5.x,
    # "DPC containment event" via the dpc service device on 4.x), severity in the line on 6.x.
    (
        "pcieport 0000:30:03.0: DPC: containment event, status:0x0005 source:0x3400",
        "PCIeUncorrectedError",
        "",
    ),
    (
        "dpc 0000:00:03.2:pcie008: DPC containment event, status:0x1f01 source:0x0000",
        "PCIeUncorrectedError",
        "",
    ),
    (
        "pcieport 0000:00:1c.0: DPC: containment event, status:0x1f01: unmasked uncorrectable error detected",
        "PCIeUncorrectedError",
        "",
    ),
    (
        "pci 0000:00:01.0: DPC: containment event, status:0x000d, ERR_NONFATAL received from 0000:02:00.0",
        "PCIeUncorrectedError",
        "",
    ),
    (
        "pcieport 0015:00:00.0: DPC: containment event, status:0x200d, ERR_FATAL received from 0015:01:00.0",
        "PCIeFatalError",
        "",
    ),
    # drivers/pci/pcie/err.c pcie_do_recovery(): "AER: Device recovery failed" (4.x),
    # "device recovery failed" (5.x+).
    ("pcieport 0000:00:1c.0: AER: Device recovery failed", "PCIeDeviceRecoveryFailed", ""),
    ("pcieport 0000:00:1c.0: AER: device recovery failed", "PCIeDeviceRecoveryFailed", ""),
]


@pytest.mark.parametrize(
    ("line", "reason", "condition"), POSITIVE, ids=lambda v: v if len(v) < 60 else v[:60]
)
def test_problem_line_gives_one_report(line: str, reason: str, condition: str) -> None:
    found = findings(CONFIG, [line])
    assert [(f.reason, f.condition) for f in found] == [(reason, condition)]
    if condition:  # a condition change event quotes the line, escaped, in its message
        assert line.replace('"', '\\"') in found[0].message
    else:
        assert found[0].message == line


NEAR_MISSES = [
    # Detail lines of an MCE record: the "CPU n: Machine Check" line speaks for the record.
    "mce: [Hardware Error]: TSC 0 ADDR 4658130c0 MISC 102285 ",
    "mce: [Hardware Error]: RIP !INEXACT! 10:<ffffffff812e14c1> {intel_idle+0xb1/0x170}",
    "mce: [Hardware Error]: PROCESSOR 0:306f2 TIME 1483556290 SOCKET 0 APIC 0 microcode 38",
    "[Hardware Error]: CPU:0 (17:1:1) MC15_STATUS[Over|CE|MiscV|AddrV|-|-|SyndV|CECC|-|-|-]: "
    "0xdc2040000000011b",
    "[Hardware Error]: Error Addr: 0x0000000065d2d600",
    "[Hardware Error]: cache level: L3/GEN, tx: GEN, mem-tx: RD",
    "[Hardware Error]: Unified Memory Controller Ext. Error Code: 0, DRAM ECC error.",
    "mce_notify_irq: 1 callbacks suppressed",
    "mce: CPU supports 22 MCE banks",
    "mce: CMCI storm subsided: switching to interrupt mode",
    # sb_edac's own copy of the MCE record: the EDAC "CE"/"UE" line speaks for it.
    "EDAC sbridge MC0: HANDLING MCE MEMORY ERROR",
    "EDAC sbridge MC0: CPU 0: Machine Check Event: 0 Bank 7: 8c00004000010090",
    "EDAC sbridge MC0: CPU 0: Machine Check Exception: 5 Bank 7: be00000000800090",
    "EDAC amd64 MC1: CE ERROR_ADDRESS= 0x101a793400",
    "EDAC k8 MC1: extended error code: ECC chipkill x4 error",
    "EDAC MC0: Giving out device to module skx_edac controller Skylake Socket#0 IMC#0: DEV 0000:3a:0a.0 "
    "(INTERRUPT)",
    "EDAC amd64: Node 0: DRAM ECC disabled.",
    # Thermal recovery and power-limit notices.
    "CPU3: Core temperature/speed normal",
    "mce: CPU6: Package temperature/speed normal",
    "CPU0: Package power limit notification (total events = 1)",
    # CPER record header and section lines: the "event severity" line speaks for the record.
    "{1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 0",
    "{1}[Hardware Error]: It has been corrected by h/w and requires no further action",
    "{1}[Hardware Error]:  Error 0, type: corrected",
    "{2}[Hardware Error]: section_type: memory error",
    "{1}[Hardware Error]: event severity: info",
    "GHES: APEI firmware first mode is enabled by APEI bit and WHEA _OSC.",
    # Memory failure injection (tests) and debugging lines; the page-state detail lines that come
    # before a "recovery action" line (hard offline) or after "Soft-offlining pfn" (soft offline).
    "Memory failure: 0x10cb39: unhandlable page.",
    "Memory failure: 0xaf34214: reserved kernel page still referenced by 1 users",
    "Memory failure: 0x3755ff: non anonymous thp",
    "Injecting memory failure for pfn 0x1234 at process virtual address 0x7f0000000000",
    "Memory failure: tk->addr = 7f5bb6601000",
    # NVIDIA: identification lines, preemptive cleanup (Xid 45) and a recovery action cleared.
    "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023",
    "NVRM: GPU at PCI:0000:01:00: GPU-bc0fa0b9-cac2-f507-b715-9bebdb69c71e",
    "NVRM: GPU Board Serial Number: 0321017045932",
    "NVRM: Xid (PCI:0000:3b:00): 45, pid=1234, name=python, Ch 00000010",
    "NVRM: Xid (PCI:0000:02:00): 45, pid=15041, name=zed-editor, channel 0x00000006",
    "NVRM: Xid (PCI:0000:3b:00): 154, GPU recovery action changed from 0x2 (Node Reboot Required) to 0x0 "
    "(None)",
    "NVRM: nvidia-bug-report.sh as root to collect this data before",
    # PCIe: detail lines of an AER report, capability and success lines.
    "pcieport 0000:00:1c.5:   device [8086:a33d] error status/mask=00000001/00002000",
    "pcieport 0000:00:1c.5:    [ 0] RxErr",
    "pcieport 0000:00:01.4:    [ 5] SDES                   (First)",
    "pcieport 0000:00:03.0:   TLP Header: 40000001 0000000f 90028090 00000000",
    "pcieport 0000:00:1c.0: AER: enabled with IRQ 122",
    "pcieport 0000:00:1c.0: AER: Device recovery successful",
    "pcieport 0000:00:1c.0: DPC: error containment capabilities: Int Msg #0, RPExt+ PoisonedTLP+ SwTrigger+",
    "pcieport 0000:00:01.4: DPC: unmasked uncorrectable error detected",
    "pci 0000:00:1c.0: AER: can't find device of ID00e0",
]


@pytest.mark.parametrize("line", NEAR_MISSES)
def test_near_miss_gives_no_report(line: str) -> None:
    assert findings(CONFIG, [line]) == []


# Whole incidents as the kernel prints them: the reports they give, in order.
INCIDENTS: list[tuple[str, list[str], list[str]]] = [
    (
        "corrected MCE record (5.x, no EDAC driver)",
        [
            "mce: [Hardware Error]: Machine check events logged",
            "mce: [Hardware Error]: CPU 2: Machine Check: 0 Bank 3: cc5eb2c000100135",
            "mce: [Hardware Error]: TSC 0 ADDR 4658130c0 MISC 102285 ",
            "mce: [Hardware Error]: PROCESSOR 0:306f2 TIME 1483556290 SOCKET 0 APIC 0 microcode 38",
        ],
        ["MachineCheckEvent", "CorrectedMachineCheck"],
    ),
    (
        "sb_edac corrected memory error: one MemoryReadError, not one per line",
        [
            "EDAC sbridge MC0: HANDLING MCE MEMORY ERROR",
            "EDAC sbridge MC0: CPU 0: Machine Check Event: 0 Bank 7: 8c00004000010090",
            "EDAC sbridge MC0: TSC 0 ",
            "EDAC sbridge MC0: ADDR 2b1c5440 ",
            "EDAC sbridge MC0: MISC 140a8e8e ",
            "EDAC sbridge MC0: PROCESSOR 0:306f2 TIME 1483556290 SOCKET 0 APIC 0",
            "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 "
            "page:0x2b1c5 "
            "offset:0x440 grain:32 syndrome:0x0 - area:DRAM err_code:0001:0091 socket:0 ha:0 channel_mask:2 "
            "rank:1)",
        ],
        ["MemoryReadError"],
    ),
    (
        "CPER record: one report, on the event severity line",
        [
            "{1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 0",
            "{1}[Hardware Error]: It has been corrected by h/w and requires no further action",
            "{1}[Hardware Error]: event severity: corrected",
            "{1}[Hardware Error]:  Error 0, type: corrected",
            "{1}[Hardware Error]:   section_type: memory error",
            "{1}[Hardware Error]:   physical_address: 0x000000314d193000",
        ],
        ["CperHardwareErrorCorrected"],
    ),
    (
        "fatal CPER record and the GHES panic: the condition is raised once",
        [
            "{1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 1",
            "{1}[Hardware Error]: event severity: fatal",
            "{1}[Hardware Error]:   section_type: PCIe error",
            "Kernel panic - not syncing: Fatal hardware error!",
        ],
        ["CperHardwareErrorFatal"],
    ),
    (
        "fatal MCE: the record, the reason, the panic",
        [
            "mce: [Hardware Error]: CPU 1: Machine Check Exception: 5 Bank 2: bf80000000000124",
            "mce: [Hardware Error]: RIP !INEXACT! 10:<ffffffff812e14c1> {intel_idle+0xb1/0x170}",
            "mce: [Hardware Error]: TSC 4f5c2e1a0c ADDR 4d8b3c0 MISC 86 ",
            "mce: [Hardware Error]: PROCESSOR 0:50654 TIME 1583159434 SOCKET 0 APIC 2 microcode 2000065",
            "mce: [Hardware Error]: Machine check: Processor context corrupt",
            "Kernel panic - not syncing: Fatal machine check",
        ],
        ["UncorrectedMachineCheck", "FatalMachineCheck", "FatalMachineCheck"],
    ),
    (
        "AMD uncorrected memory error consumed by a process (5.x): memory condition raised once",
        [
            "EDAC MC0: 1 UE on mc#0csrow#0channel#0 (csrow:0 channel:0 page:0x79d6c8 offset:0x440 grain:64)",
            "[Hardware Error]: cache level: L3/GEN, tx: GEN, mem-tx: RD",
            "mce: [Hardware Error]: Machine check events logged",
            "[Hardware Error]: Uncorrected, software restartable error.",
            "[Hardware Error]: CPU:7 (17:1:1) MC0_STATUS[-|UE|MiscV|AddrV|-|-|-|UECC|-|Poison|-]: "
            "0xbc002800000c0135",
            "[Hardware Error]: Error Addr: 0x000000079d6c8440",
            "mce: Uncorrected hardware memory error in user-access at 79d6c8440",
            "Memory failure: 0x79d6c8: recovery action for dirty LRU page: Recovered",
            "Memory failure: 0x79d6c8: already hardware poisoned",
        ],
        ["MemoryUncorrectableError", "MachineCheckEvent", "UncorrectedMachineCheck"],
    ),
    (
        "persistent-memory poison read through DAX (4.x): one memory report, the CPER and MCE notes",
        [
            "mce: Uncorrected hardware memory error in user-access at af34214200",
            "{1}[Hardware Error]: It has been corrected by h/w and requires no further action",
            "mce: [Hardware Error]: Machine check events logged",
            "{1}[Hardware Error]: event severity: corrected",
            "Memory failure: 0xaf34214: reserved kernel page still referenced by 1 users",
            "Memory failure: 0xaf34214: recovery action for reserved kernel page: Failed",
        ],
        ["MemoryUncorrectableError", "MachineCheckEvent", "CperHardwareErrorCorrected"],
    ),
    (
        "corrected-error collector soft-offlines a page: no uncorrectable-memory condition",
        [
            "mce: [Hardware Error]: Machine check events logged",
            "RAS: Soft-offlining pfn: 0x10cb39",
            "Memory failure: 0x10cb39: unhandlable page.",
        ],
        ["MachineCheckEvent", "MemoryPageSoftOffline"],
    ),
    (
        "Xid 79: the Xid line and the driver's own line raise the GPU condition once",
        [
            "NVRM: GPU at PCI:0000:00:1e: GPU-ed6d71ca-f2f4-3b3b-4e2e-43c8e6b6e1b0",
            "NVRM: GPU Board Serial Number: 0321017045932",
            "NVRM: Xid (PCI:0000:00:1e): 79, pid=0, GPU has fallen off the bus.",
            "NVRM: GPU 0000:00:1e.0: GPU has fallen off the bus.",
            "NVRM: GPU is on Board 0321017045932.",
            "NVRM: A GPU crash dump has been created. If possible, please run",
            "NVRM: nvidia-bug-report.sh as root to collect this data before",
            "NVRM: the NVIDIA kernel module is unloaded.",
        ],
        ["GPUFallenOffBus", "GPUCrashDump"],
    ),
    (
        "Xid 45 after a killed process gives nothing; repeated RmInitAdapter failures raise once",
        [
            "NVRM: Xid (PCI:0000:3b:00): 45, pid=1234, name=python, Ch 00000010",
            "NVRM: GPU 0000:02:00.0: RmInitAdapter failed! (0x24:0x65:1185)",
            "NVRM: GPU 0000:02:00.0: rm_init_adapter failed, device minor number 0",
            "NVRM: GPU 0000:02:00.0: RmInitAdapter failed! (0x24:0x65:1185)",
        ],
        ["GPUInitFailed"],
    ),
    (
        "native AER report: the 'error received' line and the 'PCIe Bus Error' line, not the details",
        [
            "pcieport 0000:00:1c.5: AER: Corrected error received: 0000:00:1c.5",
            "pcieport 0000:00:1c.5: PCIe Bus Error: severity=Corrected, type=Physical Layer, (Receiver ID)",
            "pcieport 0000:00:1c.5:   device [8086:a33d] error status/mask=00000001/00002000",
            "pcieport 0000:00:1c.5:    [ 0] RxErr                  (First)",
        ],
        ["PCIeCorrectedError", "PCIeCorrectedError"],
    ),
]


@pytest.mark.parametrize(
    ("lines", "expected"), [(i[1], i[2]) for i in INCIDENTS], ids=[i[0] for i in INCIDENTS]
)
def test_incident_reports(lines: list[str], expected: list[str]) -> None:
    assert reasons(CONFIG, lines) == expected


def _xid_expectation(code: int) -> tuple[str, str] | None:
    """The report NVIDIA's catalog calls for on Xid ``code`` (None: no report)."""
    by_code = {
        79: ("GPUFallenOffBus", GPU),
        48: ("GPUUncorrectableECCError", GPU),
        95: ("GPUUncorrectableECCError", GPU),
        64: ("GPURowRemapFailure", GPU),
        119: ("GPUGSPError", GPU),
        120: ("GPUGSPError", GPU),
        63: ("GPURowRemapEvent", ""),
        74: ("GPUNVLinkError", ""),
        92: ("GPUHighSingleBitECCRate", ""),
        94: ("GPUContainedECCError", ""),
        13: ("GPUApplicationError", ""),
        31: ("GPUApplicationError", ""),
        43: ("GPUApplicationError", ""),
        45: None,
        154: None,  # only a change to a recovery action other than None reports (tested above)
    }
    return by_code.get(code, ("GPUXidError", ""))


@pytest.mark.parametrize("code", [*range(0, 256), 400, 999, 1000, 12345])
def test_every_xid_code_gives_exactly_its_report(code: int) -> None:
    expected = _xid_expectation(code)
    lines = [
        f"NVRM: Xid (PCI:0000:3b:00): {code}, pid=4242, name=python3, some description",
        f"NVRM: Xid (0000:3b:00): {code}, some description",
        f"NVRM: Xid (PCI:0000:3b:00): {code}",
    ]
    found = [(f.reason, f.condition) for f in findings(CONFIG, lines)]
    if expected is None:
        assert found == []
    elif expected[1]:
        assert found == [expected]  # a permanent rule raises its condition once for the three lines
    else:
        assert found == [expected] * len(lines)


def test_config_header_and_conditions() -> None:
    config = bundled(CONFIG)
    assert (config.plugin.value, config.source, config.log_path, config.lookback) == (
        "kmsg",
        "hardware-monitor",
        "/dev/kmsg",
        300.0,
    )
    declared = {c.type for c in config.conditions}
    assert declared == {CPER, MEMORY, GPU}
    assert all(rule.condition in declared for rule in config.rules if rule.condition)


def test_upstream_rules_are_kept_verbatim() -> None:
    patterns = {(rule.reason, rule.pattern) for rule in bundled(CONFIG).rules}
    assert ("CperHardwareErrorCorrected", ".*\\[Hardware Error\\]: event severity: corrected") in patterns
    assert ("CperHardwareErrorRecoverable", ".*\\[Hardware Error\\]: event severity: recoverable") in patterns
    assert ("CperHardwareErrorFatal", ".*\\[Hardware Error\\]: event severity: fatal") in patterns
    # Upstream's MemoryReadError pattern is one branch of ours: everything it matches, ours does.
    assert any(r == "MemoryReadError" and "CE memory read error " in p for r, p in patterns)


def test_every_rule_has_a_positive_case() -> None:
    covered = {reason for _, reason, _ in POSITIVE}
    assert {rule.reason for rule in bundled(CONFIG).rules} <= covered
