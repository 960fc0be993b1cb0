/* riscv64 entry: OpenSBI jumps here at KERNEL_PHYS in S-mode, MMU off,
 * a0 = hart id, a1 = device tree physical address.
 *
 * Builds a boot Sv39 root table with 1 GiB leaves (identity map of the
 * kernel's gigabyte, the same gigabyte in the upper-half direct map, and
 * gigabyte 0 in the device window for the early UART), turns on
 * translation and jumps to the linked (upper-half) address. */

#define VIRT_OFFSET 0xffffffc000000000
#define DEVICE_BASE 0xffffffe000000000
/* Sv39 PTE bits (privileged spec §4.3.1): V R W X G A D */
#define PTE_NORMAL 0xef
#define PTE_DEVICE 0xe7
#define SATP_SV39 (8 << 60)

  .section .text.boot, "ax"
  .global _start
_start:
  rdtime s3                         /* entry stamp (arch_boot_raw) */
  csrw sie, zero
  csrci sstatus, 2
  mv s0, a0                         /* hart id */
  mv s1, a1                         /* DTB */

  lla t0, kernel_bss_start
  lla t1, kernel_bss_end
1: /* 64 bytes a turn (linker.ld aligns both ends) */
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  sd zero, 8(t0)
  sd zero, 16(t0)
  sd zero, 24(t0)
  sd zero, 32(t0)
  sd zero, 40(t0)
  sd zero, 48(t0)
  sd zero, 56(t0)
  addi t0, t0, 64
  j 1b
2:
  rdtime s4                         /* .bss zeroed */
  lla s2, boot_root                 /* physical */
  lla t0, _start
  srli t1, t0, 30                   /* the kernel's gigabyte */
  slli t2, t1, 28                   /* PPN field: (gb << 30) >> 12 << 10 */
  ori t2, t2, PTE_NORMAL
  andi t3, t1, 0x1ff
  slli t3, t3, 3
  add t3, t3, s2
  sd t2, 0(t3)                      /* identity */
  li t4, VIRT_OFFSET
  slli t5, t1, 30
  add t4, t4, t5
  srli t4, t4, 30
  andi t4, t4, 0x1ff
  slli t4, t4, 3
  add t4, t4, s2
  sd t2, 0(t4)                      /* direct map */
  li t4, DEVICE_BASE
  srli t4, t4, 30
  andi t4, t4, 0x1ff
  slli t4, t4, 3
  add t4, t4, s2
  li t2, PTE_DEVICE                 /* gigabyte 0, PPN 0 */
  sd t2, 0(t4)

  srli t0, s2, 12
  li t1, SATP_SV39
  or t0, t0, t1
  sfence.vma
  csrw satp, t0
  sfence.vma
  lla t0, high_addr
  ld t0, 0(t0)
  jr t0

  .balign 8
high_addr:
  .dword high

  .text
high:
  rdtime t1                         /* MMU on */
  lla t0, arch_boot_raw
  sd s3, 0(t0)
  sd s4, 8(t0)
  sd t1, 16(t0)
  lla sp, boot_stack_top
  lla t0, riscv_trap_entry
  csrw stvec, t0
  lla t0, riscv_boot_hart
  sd s0, 0(t0)
  mv a0, s1
  call kernel_main
3:
  wfi
  j 3b

  .section .bss.boot, "aw", @nobits
  .balign 4096
  .global boot_root
boot_root:
  .skip 4096

  /* The stack needs no zeroing (linker.ld's .noinit). */
  .section .bss.noinit.boot_stack, "aw", @nobits
  .balign 16
boot_stack:
  .skip 65536
  .global boot_stack_top
boot_stack_top:
