/* The virtio-mmio device model's own tests: the rules it holds a driver
 * to are really checked (a model that let a wrong driver through would
 * make every driver test above it worthless), and the virtio core's own
 * sequences break none of them. Register offsets are the spec's
 * (virtio 1.2 §4.2.2, Table 4.1), written here by hand as a misbehaving
 * driver would. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include <arch/dma.h>
#include <arch/mmio.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>
#include <virtio/core/vq_backend.h>
#include <virtio/transport-mmio/mmio.h>

#include "arch_host.h"
#include "rng_model.h"

enum {
  STATUS = 0x070,
  DRV_FEATURES = 0x020,
  DRV_FEATURES_SEL = 0x024,
  GUEST_PAGE_SIZE = 0x028,
  QUEUE_SEL = 0x030,
  QUEUE_NUM = 0x038,
  QUEUE_ALIGN = 0x03c,
  QUEUE_PFN = 0x040,
  QUEUE_READY = 0x044,
  QUEUE_NOTIFY = 0x050,
  MAGIC = 0x000,
  ACK = 1,
  DRIVER = 2,
  DRIVER_OK = 4,
  FEATURES_OK = 8,
};

struct fx {
  struct rng_model *rm;
  struct vm_dev *vm;
  volatile uint8_t *regs;
};

static struct fx *open_dev(void **state, uint32_t version) {
  host_irq_reset();
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  struct rng_model_config c = {.version = version,
                               .transport = (uint64_t)1 << 29,
                               .irq = 50,
                               .pa = 0x0a000000};
  f->rm = rng_model_create(&c);
  f->vm = rng_model_vm(f->rm);
  struct virtio_mmio_slot slot;
  vm_slot(f->vm, true, &slot);
  f->regs = slot.regs;
  vm_collect_violations(f->vm, true);
  *state = f;
  return f;
}

static int close_dev(void **state) {
  struct fx *f = *state;
  if (f != NULL) {
    rng_model_destroy(f->rm);
    free(f);
  }
  host_irq_reset();
  return 0;
}

static void wr(struct fx *f, uint32_t off, uint32_t v) {
  arch_mmio_write32(f->regs + off, v);
}

static void assert_violation(struct fx *f, const char *needle) {
  const char *v = vm_violations(f->vm);
  if (strstr(v, needle) == NULL) {
    fail_msg("the model did not report \"%s\"; it said: \"%s\"", needle, v);
  }
}

static void test_notify_before_driver_ok(void **state) {
  struct fx *f = open_dev(state, 2);
  wr(f, STATUS, ACK);
  wr(f, STATUS, ACK | DRIVER);
  wr(f, QUEUE_NOTIFY, 0);
  assert_violation(f, "QueueNotify(0) before DRIVER_OK");
}

static void test_driver_ok_without_features_ok(void **state) {
  struct fx *f = open_dev(state, 2);
  wr(f, STATUS, ACK);
  wr(f, STATUS, ACK | DRIVER);
  wr(f, STATUS, ACK | DRIVER | DRIVER_OK);
  assert_violation(f, "DRIVER_OK without FEATURES_OK");
}

static void test_unoffered_feature(void **state) {
  struct fx *f = open_dev(state, 2);
  wr(f, STATUS, ACK);
  wr(f, STATUS, ACK | DRIVER);
  wr(f, DRV_FEATURES_SEL, 0);
  wr(f, DRV_FEATURES, 1u << 28); /* INDIRECT_DESC: not offered */
  wr(f, DRV_FEATURES_SEL, 1);
  wr(f, DRV_FEATURES, 1); /* VERSION_1 */
  wr(f, STATUS, ACK | DRIVER | FEATURES_OK);
  assert_violation(f, "did not offer");
  /* The device refuses: FEATURES_OK does not read back. */
  assert_int_equal(vm_status(f->vm) & FEATURES_OK, 0);
}

static void test_queue_num_above_max(void **state) {
  struct fx *f = open_dev(state, 2);
  wr(f, STATUS, ACK);
  wr(f, STATUS, ACK | DRIVER);
  wr(f, DRV_FEATURES_SEL, 1);
  wr(f, DRV_FEATURES, 1);
  wr(f, STATUS, ACK | DRIVER | FEATURES_OK);
  wr(f, QUEUE_SEL, 0);
  wr(f, QUEUE_NUM, 2048);
  assert_violation(f, "QueueNum 2048 of queue 0 outside 1..QueueNumMax 1024");
}

static void test_queue_setup_before_features_ok(void **state) {
  struct fx *f = open_dev(state, 2);
  wr(f, STATUS, ACK);
  wr(f, STATUS, ACK | DRIVER);
  wr(f, QUEUE_SEL, 0);
  wr(f, QUEUE_NUM, 8);
  assert_violation(f, "QueueNum written before FEATURES_OK");
}

static void test_narrow_register_access(void **state) {
  struct fx *f = open_dev(state, 2);
  (void)arch_mmio_read8(f->regs + MAGIC);
  assert_violation(f, "1-byte read at register offset 0");
}

static void test_legacy_pfn_before_page_size(void **state) {
  struct fx *f = open_dev(state, 1);
  wr(f, STATUS, ACK);
  wr(f, STATUS, ACK | DRIVER);
  wr(f, QUEUE_SEL, 0);
  wr(f, QUEUE_NUM, 8);
  wr(f, QUEUE_ALIGN, 4096);
  wr(f, QUEUE_PFN, 0x1234);
  assert_violation(f, "QueuePFN before GuestPageSize");
}

static void test_modern_register_on_legacy(void **state) {
  struct fx *f = open_dev(state, 1);
  wr(f, QUEUE_READY, 1);
  assert_violation(f, "QueueReady, a modern-only register");
}

static void no_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  (void)token;
  (void)len;
}

static unsigned long done_calls;
static void count_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  (void)token;
  (void)len;
  done_calls++;
}

/* The core's device on the model, negotiated, one queue (`done` its
 * callback), DRIVER_OK; *vq is the queue. */
static struct virtio_device *core_device(struct fx *f, virtqueue_done_fn done,
                                         struct virtqueue **vq) {
  struct virtio_device *dev = vm_core_device(f->vm, true, NULL);
  assert_int_equal(virtio_negotiate(dev, 0), RL_OK);
  assert_int_equal(virtio_queue_setup(dev, 0, "requestq", 8, done, vq), RL_OK);
  assert_int_equal(virtio_device_ready(dev), RL_OK);
  return dev;
}

/* The virtio core's own sequences, legacy and modern, break no rule. */
static void core_sequence(void **state, uint32_t version) {
  struct fx *f = open_dev(state, version);
  struct virtqueue *vq;
  struct virtio_device *dev = core_device(f, no_done, &vq);
  assert_true(vm_queue_ready(f->vm, 0));
  assert_int_equal(vm_queue_num(f->vm, 0), 8);
  assert_string_equal(vm_violations(f->vm), "");
#if VQ_DETACH
  assert_int_equal(virtio_device_reset(dev), RL_OK);
  assert_int_equal(vm_status(f->vm), 0);
#else
  /* Nothing to fail the queue's requests with: the core refuses to reset
   * a device with a live queue and leaves it running. */
  uint32_t status = vm_status(f->vm);
  assert_int_equal(virtio_device_reset(dev), RL_ERR_NOT_SUPPORTED);
  assert_int_equal(vm_status(f->vm), status);
  vm_core_device_stop(dev);
#endif
  assert_string_equal(vm_violations(f->vm), "");
  virtio_device_release(dev);
  vm_core_device_free(dev);
}

/* A reset that never completes: the device may still write into its
 * rings and the request's buffer, so nothing of it is freed or handed
 * back; the device is failed and says so (virtio 1.2 §2.4). */
static RL_UNUSED void test_reset_timeout_leaks(void **state) {
  struct fx *f = open_dev(state, 2);
  struct virtqueue *vq;
  struct virtio_device *dev = core_device(f, count_done, &vq);
  struct arch_dma_buf buf;
  assert_int_equal(arch_dma_alloc(1, &buf), RL_OK);
  vm_set_answer(f->vm, VM_ANSWER_NEVER);
  struct vq_seg seg = {buf.phys, 16};
  assert_int_equal(virtqueue_submit(vq, NULL, 0, &seg, 1, &buf), RL_OK);
  assert_int_equal(vm_held(f->vm), 1);
  size_t live = host_dma_live_count();
  done_calls = 0;
  vm_stuck_reset(f->vm, true);
  host_time_virtual(true);
  assert_int_equal(virtio_device_reset(dev), RL_ERR_TIMEOUT);
  host_time_virtual(false);
  assert_true(dev->failed);
  assert_int_equal(host_dma_live_count(), live); /* the rings stay */
  assert_int_equal(done_calls, 0); /* the buffer stays the device's */
  assert_int_equal(virtio_negotiate(dev, 0), RL_ERR_BUSY);
  /* Once the device does reset, the request fails and all is freed. */
  vm_stuck_reset(f->vm, false);
  assert_int_equal(virtio_device_reset(dev), RL_OK);
  assert_int_equal(done_calls, 1);
  virtio_device_release(dev);
  vm_core_device_free(dev);
  arch_dma_free(&buf);
}

/* An interrupt in the middle of a queue's setup (here: as it is enabled,
 * on a device whose interrupt is live from an earlier probe) finds either
 * no queue or a whole one, never a half-set record. */
static RL_UNUSED void test_interrupt_during_setup(void **state) {
  struct fx *f = open_dev(state, 2);
  struct virtqueue *vq;
  struct virtio_device *dev = core_device(f, no_done, &vq);
  assert_true(dev->irq_ready);
  assert_int_equal(virtio_device_reset(dev), RL_OK);
  vm_interrupt_on_enable(f->vm, true);
  assert_int_equal(virtio_negotiate(dev, 0), RL_OK);
  assert_int_equal(virtio_queue_setup(dev, 0, "requestq", 8, no_done, &vq),
                   RL_OK);
  assert_true(vm_interrupts(f->vm) > 0);
  assert_int_equal(virtio_device_reset(dev), RL_OK);
  virtio_device_release(dev);
  vm_core_device_free(dev);
}

/* A modern device offering RING_PACKED, coherent or not, negotiated under
 * this build's backend choice: the ring it gets (`want`), RING_PACKED
 * accepted only with the packed ring; NULL: negotiation must fail
 * (RL_ERR_NOT_SUPPORTED, the device FAILED). Packed descriptors share cache
 * lines with the device's writes, so a non-coherent device never gets the
 * packed ring (issue 13 item 1). */
static void ring_for(void **state, bool coherent, const char *want) {
  host_irq_reset();
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  *state = f;
  struct rng_model_config c = {.version = 2,
                               .transport = (uint64_t)1 << 34,
                               .irq = 50,
                               .pa = 0x0a000000};
  f->rm = rng_model_create(&c);
  f->vm = rng_model_vm(f->rm);
  vm_collect_violations(f->vm, true);
  struct virtio_device *dev = vm_core_device(f->vm, coherent, NULL);
  if (want == NULL) {
    assert_int_equal(virtio_negotiate(dev, 0), RL_ERR_NOT_SUPPORTED);
    assert_true(dev->failed);
    assert_true((vm_status(f->vm) & 128) != 0); /* FAILED, §2.1 */
    virtio_device_release(dev);
    vm_core_device_free(dev);
    return;
  }
  assert_int_equal(virtio_negotiate(dev, 0), RL_OK);
  assert_non_null(dev->ring);
  assert_string_equal(dev->ring->name, want);
  bool packed = (vm_driver_features(f->vm) & ((uint64_t)1 << 34)) != 0;
  assert_int_equal(packed, strcmp(want, "packed") == 0);
  struct virtqueue *vq;
  assert_int_equal(virtio_queue_setup(dev, 0, "requestq", 8, no_done, &vq),
                   RL_OK);
  assert_string_equal(vm_queue_layout(f->vm, 0), want);
#if VQ_DETACH
  assert_int_equal(virtio_device_reset(dev), RL_OK);
#else
  vm_core_device_stop(dev); /* the core resets no device with live queues */
#endif
  assert_string_equal(vm_violations(f->vm), "");
  virtio_device_release(dev);
  vm_core_device_free(dev);
}

static void test_packed_needs_coherent(void **state) {
#if defined(CONFIG_VIRTIO_QUEUE_BOTH_PREFER_PACKED)
  ring_for(state, true, "packed");
  close_dev(state);
  ring_for(state, false, "split"); /* with one warning: test_gpu_driver */
#elif defined(CONFIG_VIRTIO_QUEUE_PACKED_ONLY)
  ring_for(state, true, "packed");
  close_dev(state);
  ring_for(state, false, NULL); /* the message: test_virtio_core */
#else
  ring_for(state, true, "split");
  close_dev(state);
#ifdef CONFIG_DMA_NONCOHERENT
  ring_for(state, false, "split");
#else
  ring_for(state, false, NULL); /* refused: coherent devices only */
#endif
#endif
}

static void test_core_modern(void **state) { core_sequence(state, 2); }
static void test_core_legacy(void **state) { core_sequence(state, 1); }

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_notify_before_driver_ok, close_dev),
    cmocka_unit_test_teardown(test_driver_ok_without_features_ok, close_dev),
    cmocka_unit_test_teardown(test_unoffered_feature, close_dev),
    cmocka_unit_test_teardown(test_queue_num_above_max, close_dev),
    cmocka_unit_test_teardown(test_queue_setup_before_features_ok, close_dev),
    cmocka_unit_test_teardown(test_narrow_register_access, close_dev),
    cmocka_unit_test_teardown(test_legacy_pfn_before_page_size, close_dev),
    cmocka_unit_test_teardown(test_modern_register_on_legacy, close_dev),
    cmocka_unit_test_teardown(test_core_modern, close_dev),
    cmocka_unit_test_teardown(test_core_legacy, close_dev),
#if VQ_DETACH /* both reset a device with a live queue */
    cmocka_unit_test_teardown(test_reset_timeout_leaks, close_dev),
    cmocka_unit_test_teardown(test_interrupt_during_setup, close_dev),
#endif
    cmocka_unit_test_teardown(test_packed_needs_coherent, close_dev),
  };
  return cmocka_run_group_tests_name("vmmio", tests, NULL, NULL);
}
