/* drivers/rng on the host, against the entropy device model
 * (rng_model.h): the driver reports exactly the bytes the device wrote
 * (the used length, virtio 1.2 §2.7.8), never the length it asked for,
 * and leaves the rest of the caller's buffer alone. Run on each
 * transport in each cache variant, named "<transport>/<variant>/<case>",
 * like test_gpu_driver. The two_rngs case adds a second device (another
 * slot, interrupt and byte sequence): each read gives the bytes of the
 * device it was made on. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/rng/rng.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>
#include <virtio/transport-mmio/mmio.h>

#include "arch_host.h"
#include "rng_model.h"
#include "tests/unit/virtio/cache_variants.h"

extern const struct virtio_driver virtio_rng_driver;

#define RNG_IRQ 48u
#define RNG_PA 0x0a003c00u
#define RNG2_IRQ 49u
#define RNG2_PA 0x0a003a00u
#define UNTOUCHED 0xa5u

struct transport {
  const char *name;
  uint32_t version;
  uint64_t features;
};

static const struct transport transports[] = {
    {"legacy-split", 1, (uint64_t)3 << 28},
    {"modern-split", 2, (uint64_t)3 << 28},
#ifdef CONFIG_VIRTIO_QUEUE_PACKED
    {"modern-packed", 2, (uint64_t)3 << 28 | (uint64_t)1 << 34},
#endif
};

struct run {
  const struct transport *t;
  const struct cache_variant *v;
  CMUnitTestFunction fn;
  const char *name;
};

/* One device, probed: its model and the core's record of it. */
struct fx {
  const struct run *run;
  struct rng_model *rm;
  struct virtio_device *dev;
  struct fx *second; /* the two_rngs case's second device */
};

static struct fx *device_create(const struct run *run, paddr_t pa, unsigned irq,
                                uint64_t seed) {
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  f->run = run;
  struct rng_model_config c = {
      .version = run->t->version,
      .transport = run->t->features,
      .max_bytes = 0,
      .seed = seed,
      .irq = irq,
      .pa = pa,
  };
  f->rm = rng_model_create(&c);
  f->dev = vm_core_device(rng_model_vm(f->rm), run->v->line == 0,
                          &virtio_rng_driver);
  assert_int_equal(virtio_rng_driver.probe(f->dev), RL_OK);
  return f;
}

static void device_destroy(struct fx *f) {
  if (f == NULL) {
    return;
  }
  vm_core_device_stop(f->dev);
  rng_remove(f->dev);
  assert_null(f->dev->priv);
  rng_model_destroy(f->rm);
  vm_core_device_free(f->dev);
  free(f);
}

static int fx_setup(void **state) {
  const struct run *run = *state;
  host_irq_reset();
  host_time_virtual(true);
  cache_variant_enter(run->v);
  *state = device_create(run, RNG_PA, RNG_IRQ, 0);
  return 0;
}

static int fx_teardown(void **state) {
  struct fx *f = *state;
  device_destroy(f->second);
  device_destroy(f);
  assert_int_equal(rng_count(), 0);
  host_irq_reset();
  cache_variant_leave();
  host_time_virtual(false);
  return 0;
}

/* The driver's handle of the device `f` plays, found through the
 * kernel-facing API. */
static struct rng *rng_of(struct fx *f) {
  for (unsigned i = 0; i < rng_count(); i++) {
    struct rng *r = rng_get(i);
    assert_non_null(r);
    if (strcmp(rng_name(r), f->dev->name) == 0) {
      return r;
    }
  }
  fail_msg("%s is not among the driver's %u bound device(s)", f->dev->name,
           rng_count());
  return NULL;
}

/* Reads `len` bytes with the device writing at most `max`: the driver
 * says it got exactly what the device wrote, those bytes, and nothing
 * past them changed in the caller's buffer. Through virtio_rng_read (the
 * first device) when `r` is NULL. */
static void read_from(struct fx *f, struct rng *r, uint32_t max, size_t len) {
  rng_model_set_max(f->rm, max);
  uint8_t buf[4096 + 16];
  memset(buf, UNTOUCHED, sizeof(buf));
  size_t got = 0;
  unsigned long requests = rng_model_requests(f->rm);
  assert_int_equal(r != NULL ? rng_read(r, buf, len, &got)
                             : virtio_rng_read(buf, len, &got),
                   RL_OK);
  if (rng_model_requests(f->rm) != requests + 1) {
    fail_msg("the read went to another device than %s", f->dev->name);
  }
  uint32_t wrote, offered;
  const uint8_t *bytes = rng_model_last(f->rm, &wrote, &offered);
  assert_int_equal(offered, len);
  assert_int_equal(wrote, max != 0 && max < len ? max : len);
  assert_int_equal(got, wrote);
  assert_memory_equal(buf, bytes, wrote);
  for (size_t i = wrote; i < sizeof(buf); i++) {
    if (buf[i] != UNTOUCHED) {
      fail_msg("byte %zu of the caller's buffer changed (%#x): the device "
               "wrote %u bytes",
               i, buf[i], wrote);
    }
  }
}

static void read_and_check(struct fx *f, uint32_t max, size_t len) {
  read_from(f, NULL, max, len);
}

static void test_short_used_length(void **state) {
  struct fx *f = *state;
  read_and_check(f, 8, 64);
  read_and_check(f, 1, 16);
  read_and_check(f, 100, 4096);
}

static void test_whole_buffer(void **state) {
  struct fx *f = *state;
  read_and_check(f, 0, 16);
  read_and_check(f, 0, 100);
  read_and_check(f, 0, 4096);
}

/* A request that timed out stays the device's until it completes: the
 * next read neither reuses its buffer nor takes its late completion for
 * its own (a late 64-byte answer must not land in an 8-byte read). */
static void test_timeout_then_late_answer(void **state) {
  struct fx *f = *state;
  struct vm_dev *vm = rng_model_vm(f->rm);
  uint8_t big[64];
  size_t got = 0;
  vm_set_answer(vm, VM_ANSWER_NEVER);
  assert_int_equal(virtio_rng_read(big, sizeof(big), &got), RL_ERR_TIMEOUT);
  assert_int_equal(vm_held(vm), 1);
  vm_set_answer(vm, VM_ANSWER_AT_NOTIFY);
  uint8_t small[8 + 8];
  memset(small, UNTOUCHED, sizeof(small));
  /* Still the device's: refused, nothing new posted. */
  assert_int_equal(virtio_rng_read(small, 8, &got), RL_ERR_BUSY);
  assert_int_equal(vm_held(vm), 1);
  vm_answer_held(vm); /* the late answer: 64 bytes */
  read_and_check(f, 0, 8);
  for (size_t i = 8; i < sizeof(small); i++) {
    assert_int_equal(small[i], UNTOUCHED);
  }
}

static void test_zero_length(void **state) {
  struct fx *f = *state;
  (void)f;
  uint8_t buf[8];
  size_t got = 0;
  assert_int_equal(virtio_rng_read(buf, 0, &got), RL_ERR_INVALID);
}

/* Two devices, each with its own driver state: handles in probe order,
 * each read made on a device gives that device's bytes (the models'
 * sequences differ) and leaves the other alone; virtio_rng_read reads
 * the first; re-initialising one device (virtio_device_recover: reset,
 * probe again) keeps both handles and the other device working. */
static void test_two_rngs(void **state) {
  struct fx *a = *state;
  struct fx *b = a->second =
      device_create(a->run, RNG2_PA, RNG2_IRQ, 0x0123456789abcdefull);
  assert_int_equal(rng_count(), 2);
  struct rng *ra = rng_of(a), *rb = rng_of(b);
  assert_ptr_equal(rng_get(0), ra);
  assert_ptr_equal(rng_get(1), rb);
  assert_null(rng_get(2));
  unsigned long a_requests = rng_model_requests(a->rm);
  read_from(b, rb, 0, 64);
  read_from(b, rb, 8, 32);
  assert_int_equal(rng_model_requests(a->rm), a_requests);
  unsigned long b_requests = rng_model_requests(b->rm);
  read_from(a, ra, 0, 64);
  read_from(a, NULL, 0, 16);
  assert_int_equal(rng_model_requests(b->rm), b_requests);
  /* Different sequences: the bytes say which device wrote them. */
  uint8_t x[16], y[16];
  size_t got;
  assert_int_equal(rng_read(ra, x, sizeof(x), &got), RL_OK);
  assert_int_equal(rng_read(rb, y, sizeof(y), &got), RL_OK);
  assert_memory_not_equal(x, y, sizeof(x));
  struct fx *const order[] = {b, a};
  for (size_t i = 0; i < RL_ARRAY_SIZE(order); i++) {
    assert_int_equal(virtio_device_recover(order[i]->dev), RL_OK);
    assert_ptr_equal(rng_get(0), ra);
    assert_ptr_equal(rng_get(1), rb);
    read_from(a, ra, 0, 100);
    read_from(b, rb, 0, 100);
  }
}

static const struct matrix_case cases[] = {
    {"short_used_length", test_short_used_length},
    {"whole_buffer", test_whole_buffer},
    {"zero_length", test_zero_length},
    {"timeout_then_late_answer", test_timeout_then_late_answer},
    {"two_rngs", test_two_rngs},
};

static void *run_state(size_t n, size_t t, size_t v, size_t c, const char *name,
                       const char *why) {
  static struct run runs[RL_ARRAY_SIZE(transports) *
                         RL_ARRAY_SIZE(cache_variants) * RL_ARRAY_SIZE(cases)];
  (void)why;
  runs[n] = (struct run){&transports[t], &cache_variants[v], cases[c].fn, name};
  return &runs[n];
}

int main(void) {
  const struct variant_matrix m = {
      .group = "rng_driver",
      .transports = MATRIX_AXIS(transports),
      .variants = MATRIX_AXIS(cache_variants),
      .cases = cases,
      .ncases = RL_ARRAY_SIZE(cases),
      .setup = fx_setup,
      .teardown = fx_teardown,
      .state = run_state,
  };
  return run_variant_matrix(&m);
}
