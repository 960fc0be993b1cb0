/* aarch64 entry: QEMU jumps here at KERNEL_PHYS with the MMU off, at EL1
 * (EL2 with virtualization=on, EL3 with secure=on), x0 = device tree
 * physical address. EL3 drops to non-secure EL2 when it exists, EL2 to
 * EL1: the kernel always runs at non-secure EL1.
 *
 * Builds boot tables with 1 GiB blocks (identity map of the kernel's
 * gigabyte in TTBR0, the same gigabyte in the upper-half direct map and
 * the first gigabyte of the device window, for the early UART, in TTBR1),
 * turns the MMU on and jumps to the linked (upper-half) address. */

#define VIRT_OFFSET 0xffffffc000000000
#define DEVICE_BASE 0xffffffe000000000

/* MAIR_EL1: attr0 Device-nGnRE, attr1 Normal WB RA/WA, attr2 Normal NC */
#define MAIR_VALUE 0x44ff04
/* Block descriptors (Arm ARM D8.3): valid block, AF, and for normal
 * memory AttrIndx 1 + inner shareable; device: AttrIndx 0, PXN | UXN. */
#define BLOCK_NORMAL ((1 << 10) | (3 << 8) | (1 << 2) | 1)
#define BLOCK_DEVICE ((3 << 53) | (1 << 10) | (0 << 2) | 1)

  .section .text.boot, "ax"
  .global _start
_start:
  mrs x24, cntvct_el0               /* entry stamp (arch_boot_raw) */
  /* QEMU sets x0 only for Linux images; for an ELF kernel it leaves x0 = 0
   * and puts the blob at the start of RAM (hw/arm/boot.c), which on virt
   * is the start of the kernel's gigabyte. kernel_main checks the magic. */
  mov x19, x0                       /* keep the DTB pointer */
  /* One CPU only: QEMU holds secondary CPUs off through PSCI, but entered
   * at EL3 (secure=on, no PSCI) it starts every CPU here. Park all but
   * affinity 0.0.0.0 (MPIDR_EL1 Aff3, Aff2.Aff1.Aff0). */
  mrs x1, mpidr_el1
  ubfx x2, x1, #0, #24
  ubfx x3, x1, #32, #8
  orr x2, x2, x3
  cbz x2, 10f
11:
  wfe
  b 11b
10:
  cbnz x19, 0f
  adr x19, _start
  and x19, x19, #~((1 << 30) - 1)
0:

  mov x23, xzr
  mrs x0, CurrentEL
  lsr x22, x0, #2                   /* the entry EL, kept for the log */
  cmp x22, #3
  b.ne 5f
  /* EL3 (-machine virt,secure=on): leave the secure state for good.
   * SCR_EL3 (Arm ARM D13.2.117): NS, RES1 bits 5:4, HCE when EL2 exists
   * (HVC enabled), RW = lower levels are AArch64; IRQ/FIQ/EA stay at the
   * lower levels. No FP/trace traps to EL3. */
  msr cptr_el3, xzr
  msr mdcr_el3, xzr
  /* The monitor the non-secure kernel calls for what only the secure
   * side may do to the GIC (el3.S); physical: the EL3 MMU stays off. */
  adrp x0, aarch64_el3_vectors
  add x0, x0, :lo12:aarch64_el3_vectors
  msr vbar_el3, x0
  mrs x1, id_aa64pfr0_el1
  ubfx x2, x1, #24, #4              /* GIC: system-register interface */
  cbz x2, 6f
  /* ICC_SRE_EL3 (GICv3 §12.2.22): SRE, DFB, DIB, Enable (lower levels
   * may use the system registers without trapping here). */
  mov x2, #0xf
  msr S3_6_C12_C12_5, x2
  isb
6:
  ubfx x2, x1, #8, #4               /* EL2 implemented? */
  mov x0, #((1 << 10) | (3 << 4) | (1 << 0))
  cbz x2, 7f
  orr x0, x0, #(1 << 8)             /* HCE */
7:
  msr scr_el3, x0
  isb
  mrs x23, scr_el3                  /* as set, for the log */
  /* SCTLR_EL1 from a known value (its reset value is UNKNOWN): MMU and
   * caches off, little-endian, the RES1 bits (0x30d00800). */
  ldr x0, =0x30d00800
  msr sctlr_el1, x0
  /* ERET to EL2h (passing through the EL2 set-up below) or EL1h, all
   * of DAIF masked. */
  mov x0, #0x3c5
  cbz x2, 8f
  mov x0, #0x3c9
8:
  msr spsr_el3, x0
  adr x0, 5f
  msr elr_el3, x0
  eret
5:
  mrs x0, CurrentEL
  lsr x0, x0, #2
  cmp x0, #2
  b.ne 1f
  /* EL2: EL1 is AArch64, no traps of timer/FP, then drop to EL1h. */
  mov x0, #(1 << 31)
  msr hcr_el2, x0
  mov x0, #3
  msr cnthctl_el2, x0
  msr cntvoff_el2, xzr
  mrs x1, id_aa64pfr0_el1
  ubfx x1, x1, #24, #4
  cbz x1, 9f
  /* ICC_SRE_EL2 (GICv3 §12.2.21): SRE, DFB, DIB, Enable. */
  mov x1, #0xf
  msr S3_4_C12_C9_5, x1
  isb
9:
  mov x0, #0x3c5
  msr spsr_el2, x0
  adr x0, 1f
  msr elr_el2, x0
  eret
1:
  /* FP/SIMD not trapped (the kernel is built without it, but be safe). */
  mov x0, #(3 << 20)
  msr cpacr_el1, x0
  isb

  /* Zero .bss (physical addresses: PC-relative). */
  adrp x0, kernel_bss_start
  add x0, x0, :lo12:kernel_bss_start
  adrp x1, kernel_bss_end
  add x1, x1, :lo12:kernel_bss_end
2: /* 64 bytes a turn (linker.ld aligns both ends): a quarter of the
    * instructions of a word at a time */
  cmp x0, x1
  b.hs 3f
  stp xzr, xzr, [x0]
  stp xzr, xzr, [x0, #16]
  stp xzr, xzr, [x0, #32]
  stp xzr, xzr, [x0, #48]
  add x0, x0, #64
  b 2b
3:
  mrs x25, cntvct_el0               /* .bss zeroed */
  adrp x0, aarch64_entry_el
  str x22, [x0, :lo12:aarch64_entry_el]
  adrp x0, aarch64_entry_scr
  str x23, [x0, :lo12:aarch64_entry_scr]
  /* Boot tables (level 1 tables, 1 GiB blocks). */
  adrp x20, boot_l1_ttbr0
  adrp x21, boot_l1_ttbr1
  adrp x2, _start                   /* physical address of the image */
  lsr x3, x2, #30                   /* its gigabyte */
  lsl x4, x3, #30
  ldr x5, =BLOCK_NORMAL
  orr x4, x4, x5
  and x6, x3, #0x1ff
  str x4, [x20, x6, lsl #3]         /* identity */
  ldr x7, =VIRT_OFFSET
  add x7, x7, x3, lsl #30
  ubfx x6, x7, #30, #9
  str x4, [x21, x6, lsl #3]         /* direct map */
  ldr x7, =DEVICE_BASE
  ubfx x6, x7, #30, #9
  ldr x4, =BLOCK_DEVICE              /* device window, gigabyte 0 */
  str x4, [x21, x6, lsl #3]

  ldr x0, =MAIR_VALUE
  msr mair_el1, x0
  /* TCR_EL1: T0SZ = T1SZ = 25 (39-bit), 4 KiB granules, WBWA inner
   * shareable walks, IPS from ID_AA64MMFR0_EL1.PARange. */
  ldr x0, =((25 << 0) | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | \
            (25 << 16) | (1 << 24) | (1 << 26) | (3 << 28) | (2 << 30))
  mrs x1, id_aa64mmfr0_el1
  and x1, x1, #7
  bfi x0, x1, #32, #3
  msr tcr_el1, x0
  msr ttbr0_el1, x20
  msr ttbr1_el1, x21
  dsb sy
  isb
  tlbi vmalle1
  dsb nsh
  isb
  /* SCTLR_EL1: MMU, D-cache, I-cache on; alignment checks off. */
  mrs x0, sctlr_el1
  ldr x1, =((1 << 0) | (1 << 2) | (1 << 12))
  orr x0, x0, x1
  bic x0, x0, #(1 << 1)
  msr sctlr_el1, x0
  isb
  ldr x0, =high
  br x0

high:
  mrs x2, cntvct_el0                /* MMU on */
  ldr x0, =arch_boot_raw
  stp x24, x25, [x0]
  str x2, [x0, #16]
  ldr x0, =boot_stack_top
  mov sp, x0
  ldr x0, =aarch64_vectors
  msr vbar_el1, x0
  isb
  mov x0, x19
  bl kernel_main
4:
  wfi
  b 4b

  .section .bss.boot, "aw", %nobits
  .balign 4096
  .global boot_l1_ttbr0, boot_l1_ttbr1
boot_l1_ttbr0:
  .skip 4096
boot_l1_ttbr1:
  .skip 4096

  /* The stack needs no zeroing (linker.ld's .noinit). */
  .section .bss.noinit.boot_stack, "aw", %nobits
  .balign 16
boot_stack:
  .skip 65536
  .global boot_stack_top
boot_stack_top:
