/* aarch64 exception vectors (Arm ARM D1.10.2): every entry saves the
 * general registers, ELR, SPSR and SP in a frame on the stack and calls
 * aarch64_exception(frame, kind); IRQs return through eret. */

#define FRAME_SIZE (34 * 8)

.macro entry kind
  .balign 0x80
  sub sp, sp, #FRAME_SIZE
  stp x0, x1, [sp, #0]
  mov x0, #\kind
  b save_and_dispatch
.endm

  .section .text
  .balign 2048
  .global aarch64_vectors
aarch64_vectors:
  /* current EL with SP_EL0 */
  entry 0
  entry 1
  entry 2
  entry 3
  /* current EL with SP_ELx: the kernel's own */
  entry 4
  entry 5
  entry 6
  entry 7
  /* lower EL, AArch64 */
  entry 8
  entry 9
  entry 10
  entry 11
  /* lower EL, AArch32 */
  entry 12
  entry 13
  entry 14
  entry 15

save_and_dispatch:
  /* x0 holds the kind; the original x0/x1 are in the frame. */
  stp x2, x3, [sp, #16]
  stp x4, x5, [sp, #32]
  stp x6, x7, [sp, #48]
  stp x8, x9, [sp, #64]
  stp x10, x11, [sp, #80]
  stp x12, x13, [sp, #96]
  stp x14, x15, [sp, #112]
  stp x16, x17, [sp, #128]
  stp x18, x19, [sp, #144]
  stp x20, x21, [sp, #160]
  stp x22, x23, [sp, #176]
  stp x24, x25, [sp, #192]
  stp x26, x27, [sp, #208]
  stp x28, x29, [sp, #224]
  add x2, sp, #FRAME_SIZE
  stp x30, x2, [sp, #240]          /* lr, sp before the exception */
  mrs x2, elr_el1
  mrs x3, spsr_el1
  stp x2, x3, [sp, #256]
  mov x1, x0
  mov x0, sp
  bl aarch64_exception
  ldp x2, x3, [sp, #256]
  msr elr_el1, x2
  msr spsr_el1, x3
  ldp x0, x1, [sp, #0]
  ldp x2, x3, [sp, #16]
  ldp x4, x5, [sp, #32]
  ldp x6, x7, [sp, #48]
  ldp x8, x9, [sp, #64]
  ldp x10, x11, [sp, #80]
  ldp x12, x13, [sp, #96]
  ldp x14, x15, [sp, #112]
  ldp x16, x17, [sp, #128]
  ldp x18, x19, [sp, #144]
  ldp x20, x21, [sp, #160]
  ldp x22, x23, [sp, #176]
  ldp x24, x25, [sp, #192]
  ldp x26, x27, [sp, #208]
  ldp x28, x29, [sp, #224]
  ldr x30, [sp, #240]
  add sp, sp, #FRAME_SIZE
  eret
