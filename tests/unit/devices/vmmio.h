/* A virtio-mmio device for host tests (virtio 1.2 §4.2.2 modern, §4.2.4
 * legacy): the register file, reached through the host MMIO hook
 * (host_mmio_register), and the rules a spec-following driver keeps on
 * it. The rings are played by the ring models of tests/unit/virtio
 * (model.h), attached when the driver enables a queue; the device itself
 * (gpu_model.c, rng_model.c) handles one available chain at a time.
 *
 * A driver that breaks a rule (notifies before DRIVER_OK, a QueueNum above
 * QueueNumMax, a control register read 8 bits wide, ...) fails the running
 * test with a message naming the rule, unless vm_collect_violations is on
 * (the model's own tests). Device memory is reached only through
 * host_dma_device_ptr: the device's view, which differs from the CPU's
 * under the cache model until the driver cleans or invalidates. */
#ifndef TESTS_UNIT_DEVICES_VMMIO_H
#define TESTS_UNIT_DEVICES_VMMIO_H

#include <tests/unit/virtio/model.h>
#include <virtio/transport-mmio/mmio.h>

#define VM_QUEUES 4
#define VM_REGS_SIZE 0x200u /* as on QEMU's aarch64 virt machine */
#define VM_CONFIG_MAX (VM_REGS_SIZE - 0x100u)

/* When the device works on the chains a notification announced. */
enum vm_answer {
  VM_ANSWER_AT_NOTIFY, /* inside the QueueNotify write (default) */
  VM_ANSWER_AT_IDLE,   /* only when the CPU idles (arch_idle_until) */
  VM_ANSWER_NEVER,     /* takes every chain and holds it forever */
};

struct vm_dev;

struct vm_device_ops {
  /* One available chain of queue `q`: answer it (vm_answer) or keep it
   * (vm_hold). */
  void (*chain)(struct vm_dev *d, unsigned q, const struct model_chain *c,
                void *ctx);
  /* The driver wrote the device configuration space; NULL: read-only. */
  void (*config_write)(struct vm_dev *d, uint32_t offset, unsigned width,
                       uint32_t value, void *ctx);
  /* The driver reset the device (Status 0): forget all state. */
  void (*reset)(struct vm_dev *d, void *ctx);
};

struct vm_config {
  const char *name; /* for messages: "gpu model" */
  uint32_t version; /* 1 legacy, 2 modern */
  uint32_t device_id;
  /* Offered: device bits and transport bits. Modern devices add
   * VERSION_1 (§6.1); legacy ones offer only the low word (§4.2.4). */
  uint64_t features;
  uint32_t queue_num_max[VM_QUEUES]; /* 0: no such queue */
  uint32_t config_size;              /* device configuration bytes */
  unsigned irq;
  paddr_t pa; /* the slot's address, which names the device */
  const struct vm_device_ops *ops;
  void *ctx;
};

struct vm_dev *vm_create(const struct vm_config *cfg);
/* Detaches ring models, unregisters the window, frees. NULL is ignored. */
void vm_destroy(struct vm_dev *d);
/* The slot as device discovery would read it (mmio_scan.c). */
void vm_slot(const struct vm_dev *d, bool dma_coherent,
             struct virtio_mmio_slot *out);

/* The core's device on this slot (virtio_mmio_device_init), allocated;
 * bound to `drv` (not probed). */
struct virtio_device *vm_core_device(const struct vm_dev *d, bool dma_coherent,
                                     const struct virtio_driver *drv);
/* Resets it and frees the core's records of it (virtio_device_reset,
 * virtio_device_release); the driver's state is the caller's to free
 * before vm_core_device_free. */
void vm_core_device_stop(struct virtio_device *dev);
void vm_core_device_free(struct virtio_device *dev);

/* ---- knobs ------------------------------------------------------------- */
void vm_set_answer(struct vm_dev *d, enum vm_answer mode);
/* FEATURES_OK does not stay set (§3.1.1 step 6: the device refuses). */
void vm_refuse_features(struct vm_dev *d, bool refuse);
/* A device that never finishes a reset: writing 0 to Status changes
 * nothing, and it keeps every chain it holds (and may write them). */
void vm_stuck_reset(struct vm_dev *d, bool stuck);
/* A used buffer interrupt raised as the driver enables a queue (QueueReady
 * or QueuePFN written): an interrupt that arrives in the middle of setup. */
void vm_interrupt_on_enable(struct vm_dev *d, bool on);
/* How the device signals an interrupt: `fn(ctx, causes, queues)` (causes
 * ISR_VRING/ISR_CONFIG as in InterruptStatus, queues a bit per queue with
 * used buffers) instead of raising cfg.irq: a PCI model's MSI-X. The
 * InterruptStatus bits are set either way. NULL: back to cfg.irq. */
typedef void (*vm_signal_fn)(void *ctx, uint32_t causes, uint32_t queues);
void vm_set_signal(struct vm_dev *d, vm_signal_fn fn, void *ctx);
/* Violations go to a text buffer instead of failing the test. */
void vm_collect_violations(struct vm_dev *d, bool on);
const char *vm_violations(const struct vm_dev *d);

/* ---- the device's side ------------------------------------------------- */
/* The device configuration space (the device fills it; the driver reads
 * it through the window). */
uint8_t *vm_config_space(struct vm_dev *d);
/* §4.2.2 / §2.5: ConfigGeneration moves, InterruptStatus bit 1, irq. */
void vm_config_changed(struct vm_dev *d);
/* Copies `len` readable (driver-written) bytes of `c` from offset `off`
 * into buf through the device's view; false when the chain has fewer. */
bool vm_read(struct vm_dev *d, const struct model_chain *c, uint32_t off,
             void *buf, uint32_t len);
/* Reads `len` bytes of DMA memory at `pa` through the device's view;
 * false when they are not inside one live DMA allocation. */
bool vm_dma_read(paddr_t pa, void *buf, size_t len);
/* Marks `c` used with `used_len` bytes, having written `resp_len` bytes of
 * `resp` (at most what is writable) at the start of its writable part.
 * A used_len beyond the writable bytes is written as it is (a hostile
 * device). The interrupt follows at the end of the batch. */
void vm_answer(struct vm_dev *d, unsigned q, const struct model_chain *c,
               const void *resp, uint32_t resp_len, uint32_t used_len);
/* Keeps `c` for good: never used. A later chain that reuses any of its
 * buffers is a violation (the driver reused memory the device owns). */
void vm_hold(struct vm_dev *d, unsigned q, const struct model_chain *c);
/* A late device: works now on every chain it held (the device ops'
 * chain()), then interrupts if a ring asks for it. */
void vm_answer_held(struct vm_dev *d);
/* Report a driver's mistake (fails the test unless collecting). */
void vm_violation(struct vm_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Per-queue reset (virtio 1.2 §2.6.1), for transports that have one (the
 * virtio-pci model's queue_reset): queue `q` alone back to its reset
 * state, disabled, its held chains dropped; the others keep running. */
void vm_queue_reset(struct vm_dev *d, unsigned q);
unsigned long vm_queue_resets(const struct vm_dev *d);

/* ---- what the driver did ----------------------------------------------- */
uint32_t vm_status(const struct vm_dev *d);
uint64_t vm_driver_features(const struct vm_dev *d);
bool vm_queue_ready(const struct vm_dev *d, unsigned q);
uint32_t vm_queue_num(const struct vm_dev *d, unsigned q);
/* "split" or "packed" while the queue is enabled; NULL otherwise. */
const char *vm_queue_layout(const struct vm_dev *d, unsigned q);
unsigned long vm_notifies(const struct vm_dev *d, unsigned q);
unsigned long vm_interrupts(const struct vm_dev *d);
/* Chains held (vm_hold or VM_ANSWER_NEVER) since the last reset. */
unsigned vm_held(const struct vm_dev *d);
/* Processing runs so far: one per notification answered at once, one per
 * idle pass that found work. Chains of one run share the number. */
unsigned long vm_batch(const struct vm_dev *d);
/* Whether run `batch` ended with a used buffer interrupt (its rings asked
 * for one, §2.7.7 / §2.8.10); true for runs too old to tell (more than
 * VM_BATCH_HISTORY ago). */
#define VM_BATCH_HISTORY 256u
bool vm_batch_interrupted(const struct vm_dev *d, unsigned long batch);
/* Runs whose chains were handled from the idle hook. */
unsigned long vm_idle_batches(const struct vm_dev *d);

#endif
