/* The EL3 monitor a kernel entered at EL3 (-machine virt,secure=on, no
 * firmware) leaves behind: one SiP service call (SMC Calling Convention
 * §6, fast call, SMC64) that does what secure firmware does before it
 * starts a non-secure kernel and what the non-secure side cannot do
 * itself: put every interrupt in (non-secure) Group 1, open the GICv2
 * priority mask to the non-secure range, wake the GICv3 redistributor.
 * Runs with the EL3 MMU off (physical addresses, Device-nGnRnE), on no
 * stack, clobbering x0-x8 only.
 *
 *   x0 = AARCH64_SMC_GIC_NONSECURE, x1 = GIC version (2 or 3),
 *   x2 = distributor, x3 = GICv2 CPU interface / GICv3 RD_base of the
 *   calling CPU (physical) -> x0 = 0, or -1 (SMCCC NOT_SUPPORTED),
 *   -3 (the redistributor did not wake). */

#define SMC_GIC_NONSECURE 0xc2000001
#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_IGROUPR 0x080
#define GICC_PMR 0x004
#define GICR_WAKER 0x014
#define GICR_IGROUPR0 (0x10000 + 0x080)

  .section .text
  .balign 2048
  .global aarch64_el3_vectors
aarch64_el3_vectors:
  .rept 8                           /* current EL: never expected */
  .balign 0x80
  b el3_stuck
  .endr
  .balign 0x80                      /* lower EL, AArch64, synchronous */
  b el3_sync
  .rept 7                           /* lower EL IRQ/FIQ/SError, AArch32 */
  .balign 0x80
  b el3_stuck
  .endr

el3_stuck:
  wfe
  b el3_stuck

el3_sync:
  mrs x4, esr_el3
  ubfx x4, x4, #26, #6
  cmp x4, #0x17                     /* EC: SMC from AArch64 */
  b.ne el3_unknown
  movz x4, #(SMC_GIC_NONSECURE & 0xffff)
  movk x4, #(SMC_GIC_NONSECURE >> 16), lsl #16
  cmp x0, x4
  b.ne el3_unknown
  cmp x1, #2
  b.eq el3_gicv2
  cmp x1, #3
  b.eq el3_gicv3
el3_unknown:
  mov x0, #-1
  eret

  /* GICv2 arch spec §4.3.4: GICD_IGROUPRn = 1 for every line (SGIs and
   * PPIs banked per CPU: this CPU's); §4.4.2: a non-secure write to
   * GICC_PMR is ignored while the mask is in the secure range, so open it. */
el3_gicv2:
  ldr w4, [x2, #GICD_TYPER]
  and w4, w4, #0x1f                 /* ITLinesNumber: 32 * (n + 1) lines */
  add x5, x2, #GICD_IGROUPR
  mov w6, #-1
1:
  str w6, [x5], #4
  subs w4, w4, #1
  b.pl 1b
  mov w6, #0xff
  str w6, [x3, #GICC_PMR]
  dsb sy
  mov x0, #0
  eret

  /* GICv3 arch spec §12.9.4 (GICD_CTLR, secure view): affinity routing
   * for both states; §12.9.15: every SPI in Group 1 (GICD_IGRPMODR stays
   * 0: non-secure Group 1); §12.11.42: wake the redistributor (non-secure
   * writes to GICR_WAKER are ignored while GICD_CTLR.DS is 0); §12.11.16:
   * SGIs and PPIs of this CPU in Group 1. */
el3_gicv3:
  ldr w4, [x2, #GICD_CTLR]
  orr w4, w4, #(3 << 4)             /* ARE_S, ARE_NS */
  str w4, [x2, #GICD_CTLR]
  mov x7, #0x100000
2:
  ldr w4, [x2, #GICD_CTLR]          /* RWP: the write took effect */
  tbz w4, #31, 3f
  subs x7, x7, #1
  b.ne 2b
3:
  ldr w4, [x2, #GICD_TYPER]
  and w4, w4, #0x1f
  add x5, x2, #(GICD_IGROUPR + 4)   /* IGROUPR0 is RES0 with ARE set */
  mov w6, #-1
4:
  cbz w4, 5f
  str w6, [x5], #4
  sub w4, w4, #1
  b 4b
5:
  ldr w4, [x3, #GICR_WAKER]
  bic w4, w4, #(1 << 1)             /* ProcessorSleep */
  str w4, [x3, #GICR_WAKER]
  mov x7, #0x100000
6:
  ldr w4, [x3, #GICR_WAKER]
  tbz w4, #2, 7f                    /* ChildrenAsleep cleared */
  subs x7, x7, #1
  b.ne 6b
  mov x0, #-3
  eret
7:
  add x8, x3, #(GICR_IGROUPR0 & ~0xfff)
  str w6, [x8, #(GICR_IGROUPR0 & 0xfff)]
  dsb sy
  mov x0, #0
  eret
