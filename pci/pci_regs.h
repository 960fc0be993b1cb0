/* PCI configuration space (PCI Local Bus 3.0 §6.1, §6.2; PCI Express
 * Base 4.0 §7.2.2 for the memory-mapped ECAM layout). */
#ifndef PCI_PCI_REGS_H
#define PCI_PCI_REGS_H

/* Type 0 and type 1 headers (§6.1). */
#define PCI_VENDOR_ID 0x00 /* 16 bits; 0xffff: no function */
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_SUB 0x0a
#define PCI_CLASS_BASE 0x0b
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10 /* six BARs in a type 0 header, two in type 1 */
#define PCI_SUBSYSTEM_VENDOR 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_PIN 0x3d /* 0: none, 1..4: INTA..INTD */

/* Command register (§6.2.2). */
#define PCI_COMMAND_IO 0x0001u
#define PCI_COMMAND_MEMORY 0x0002u
#define PCI_COMMAND_MASTER 0x0004u
#define PCI_COMMAND_INTX_DISABLE 0x0400u

/* Status register (§6.2.3). */
#define PCI_STATUS_CAP_LIST 0x0010u

/* Header type (§6.2.1). */
#define PCI_HEADER_MULTI 0x80u
#define PCI_HEADER_LAYOUT 0x7fu
#define PCI_HEADER_ENDPOINT 0
#define PCI_HEADER_BRIDGE 1

/* Base address registers (§6.2.5.1). */
#define PCI_BAR_IO 0x1u
#define PCI_BAR_MEM_TYPE 0x6u
#define PCI_BAR_MEM_64 0x4u
#define PCI_BAR_PREFETCH 0x8u
#define PCI_BAR_MEM_MASK (~0xfu)
#define PCI_BAR_IO_MASK (~0x3u)

/* Capabilities (§6.7): a list starting at PCI_CAP_PTR in the device
 * dependent region; entries are dword aligned. */
#define PCI_CAP_ID 0
#define PCI_CAP_NEXT 1
#define PCI_CAP_ID_VENDOR 0x09
#define PCI_CAP_ID_MSIX 0x11
/* MSI-X capability (PCI 3.0 §6.8.2): Message Control, then Table and
 * PBA offset/BIR (BIR: the low 3 bits, the BAR). */
#define PCI_MSIX_CTRL 2
#define PCI_MSIX_TABLE 4
#define PCI_MSIX_PBA 8
#define PCI_MSIX_CAP_SIZE 12
#define PCI_MSIX_CTRL_SIZE 0x07ffu /* table size - 1 */
#define PCI_MSIX_CTRL_MASKALL 0x4000u
#define PCI_MSIX_CTRL_ENABLE 0x8000u
#define PCI_MSIX_BIR 0x7u
/* One table entry (§6.8.2.8): address low/high, data, vector control. */
#define PCI_MSIX_ENTRY_SIZE 16
#define PCI_MSIX_ENTRY_ADDR_LO 0
#define PCI_MSIX_ENTRY_ADDR_HI 4
#define PCI_MSIX_ENTRY_DATA 8
#define PCI_MSIX_ENTRY_CTRL 12
#define PCI_MSIX_ENTRY_MASKED 0x1u
#define PCI_CAP_FIRST 0x40 /* capabilities live in [0x40, 0x100) */
#define PCI_CFG_SIZE 0x100 /* the conventional space every function has */

/* ECAM: 4 KiB of configuration space per function, 8 functions per
 * device, 32 devices per bus (PCIe 4.0 §7.2.2). */
#define PCI_ECAM_BUS_SHIFT 20
#define PCI_ECAM_DEV_SHIFT 15
#define PCI_ECAM_FN_SHIFT 12
#define PCI_ECAM_FN_SIZE 0x1000u
#define PCI_DEVICES_PER_BUS 32
#define PCI_FUNCTIONS_PER_DEVICE 8

#endif
