/* drivers/input on the host, against the virtio-input device model
 * (input_model.h): classification from the selects, the event queue kept
 * full through a flood (nothing lost, nothing dropped by the device),
 * events written short or longer than their buffer, events the device
 * never announced, a configuration that lies about sizes, and the Caps
 * Lock LED on the status queue. Run on each transport in the coherent and
 * a non-coherent cache variant, named "<transport>/<variant>/<case>". */
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

#include <drivers/input/input.h>
#include <lib/input/input.h>
#include <lib/log.h>
#include <virtio/core/virtio.h>

#include "arch_host.h"
#include "input_model.h"
#include "tests/unit/virtio/cache_variants.h"

extern const struct virtio_driver virtio_input_driver;

#define INPUT_IRQ 48u
#define INPUT_PA 0x0a003c00u

struct transport {
  const char *name;
  uint32_t version;
  uint64_t features;
};

static const struct transport transports[] = {
    {"legacy-split", 1, (uint64_t)3 << 28},
    {"modern-split", 2, (uint64_t)3 << 28},
};

static const struct cache_variant variants[] = {
    {"coherent", 0},
    {"nc64", 64},
};

struct run {
  const struct transport *t;
  const struct cache_variant *v;
  const char *name;
};

struct fx {
  const struct run *run;
  struct input_model *m;
  struct virtio_device *dev;
};

/* What the subscriber saw. */
#define SEEN_MAX 4096
static struct input_event seen[SEEN_MAX];
static unsigned long nseen;

static void record(const struct input_source *src, const struct input_event *ev,
                   void *ctx) {
  (void)src;
  (void)ctx;
  if (nseen < SEEN_MAX) {
    seen[nseen] = *ev;
  }
  nseen++;
}

static struct fx *fx_of(void **state) { return *state; }

/* Creates and probes a device of `kind`, with `lie` applied first when
 * its size is set. */
static rl_status start(struct fx *f, enum input_model_kind kind,
                       const uint8_t (*lies)[3], unsigned nlies) {
  struct input_model_config c = {
      .version = f->run->t->version,
      .transport = f->run->t->features,
      .kind = kind,
      .irq = INPUT_IRQ,
      .pa = INPUT_PA,
  };
  f->m = input_model_create(&c);
  for (unsigned i = 0; i < nlies; i++) {
    input_model_lie(f->m, lies[i][0], lies[i][1], lies[i][2]);
  }
  f->dev = vm_core_device(input_model_vm(f->m), f->run->v->line == 0,
                          &virtio_input_driver);
  return virtio_input_driver.probe(f->dev);
}

static int fx_setup(void **state) {
  const struct run *run = *state;
  host_irq_reset();
  host_time_virtual(true);
  cache_variant_enter(run->v);
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  f->run = run;
  nseen = 0;
  assert_int_equal(input_subscribe(record, NULL), RL_OK);
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  struct fx *f = *state;
  input_unsubscribe(record, NULL);
  if (f->dev != NULL) {
    vm_core_device_stop(f->dev);
    input_remove(f->dev);
    vm_core_device_free(f->dev);
  }
  input_model_destroy(f->m);
  free(f);
  assert_int_equal(input_count(), 0);
  host_irq_reset();
  cache_variant_leave();
  host_time_virtual(false);
  return 0;
}

static void poll(struct fx *f) { virtio_input_driver.poll(f->dev); }

static const struct input_source *source(void) {
  return input_source_of(input_get(0));
}

static struct input_stats stats(void) {
  struct input_stats s;
  input_stats(input_get(0), &s);
  return s;
}

static void classify_tablet(void **state) {
  struct fx *f = fx_of(state);
  assert_int_equal(start(f, INPUT_MODEL_TABLET, NULL, 0), RL_OK);
  const struct input_source *src = source();
  assert_non_null(src);
  assert_int_equal(src->kind, INPUT_KIND_TABLET);
  assert_true(src->abs_x.valid && src->abs_y.valid);
  assert_int_equal(src->abs_x.min, 0);
  assert_int_equal(src->abs_x.max, 32767);
  assert_null(src->set_led); /* no EV_LED: no status queue */
  /* The event queue is full: every buffer is the device's. */
  assert_int_equal(input_model_free_buffers(f->m), 64);
}

static void classify_mouse_and_keyboard(void **state) {
  struct fx *f = fx_of(state);
  assert_int_equal(start(f, INPUT_MODEL_MOUSE, NULL, 0), RL_OK);
  assert_int_equal(source()->kind, INPUT_KIND_MOUSE);
  vm_core_device_stop(f->dev);
  input_remove(f->dev);
  vm_core_device_free(f->dev);
  input_model_destroy(f->m);
  assert_int_equal(start(f, INPUT_MODEL_KEYBOARD, NULL, 0), RL_OK);
  assert_int_equal(source()->kind, INPUT_KIND_KEYBOARD);
  assert_non_null(source()->set_led);
}

/* Rounds of as many events as the device has buffers, each round polled
 * once: every event arrives, in order, and the queue is full again. */
static void flood(void **state) {
  struct fx *f = fx_of(state);
  assert_int_equal(start(f, INPUT_MODEL_TABLET, NULL, 0), RL_OK);
  int32_t value = 0;
  unsigned long sent = 0;
  for (unsigned round = 0; round < 50; round++) {
    unsigned burst = input_model_free_buffers(f->m);
    assert_int_equal(burst, 64);
    for (unsigned i = 0; i < burst; i++) {
      bool syn = i % 3 == 2;
      assert_true(input_model_send(f->m, syn ? EV_SYN : EV_ABS,
                                   syn ? SYN_REPORT : ABS_X,
                                   syn ? 0 : value++));
      sent++;
    }
    assert_false(input_model_send(f->m, EV_ABS, ABS_Y, 0)); /* no room */
    poll(f);
    assert_int_equal(nseen, sent);
  }
  int32_t want = 0;
  for (unsigned long i = 0; i < RL_MIN(nseen, (unsigned long)SEEN_MAX); i++) {
    if (seen[i].type == EV_ABS) {
      assert_int_equal(seen[i].value, want);
      want++;
    }
  }
  assert_int_equal(input_model_dropped(f->m), 50); /* only the probes */
  assert_int_equal(stats().events, sent);
  assert_int_equal(stats().bad_length + stats().unknown, 0);
}

static void short_event_dropped(void **state) {
  struct fx *f = fx_of(state);
  assert_int_equal(start(f, INPUT_MODEL_KEYBOARD, NULL, 0), RL_OK);
  assert_true(input_model_send_raw(f->m, EV_KEY, KEY_A, 1, 4));
  assert_true(input_model_send_raw(f->m, EV_KEY, KEY_A, 1, 0));
  assert_true(input_model_send(f->m, EV_KEY, KEY_A, 1));
  poll(f);
  assert_int_equal(stats().bad_length, 2);
  assert_int_equal(nseen, 1);
  assert_int_equal(seen[0].code, KEY_A);
  assert_int_equal(input_model_free_buffers(f->m), 64); /* refilled */
}

static void oversized_event_breaks_queue(void **state) {
  struct fx *f = fx_of(state);
  assert_int_equal(start(f, INPUT_MODEL_KEYBOARD, NULL, 0), RL_OK);
  /* A used length beyond the buffer: the core refuses the used entry and
   * the queue is broken; nothing reaches the subscribers. */
  assert_true(input_model_send_raw(f->m, EV_KEY, KEY_A, 1, 9));
  poll(f);
  assert_int_equal(nseen, 0);
}

/* After a broken queue, the device's recovery (reset, probe again) gives
 * the same record a full queue again, and events flow. */
static void recovery_refills(void **state) {
  struct fx *f = fx_of(state);
  assert_int_equal(start(f, INPUT_MODEL_KEYBOARD, NULL, 0), RL_OK);
  assert_true(input_model_send_raw(f->m, EV_KEY, KEY_A, 1, 9));
  poll(f);
  assert_int_equal(nseen, 0);
  const struct vinput *before = input_get(0);
  assert_int_equal(virtio_device_recover(f->dev), RL_OK);
  assert_ptr_equal(input_get(0), before);
  assert_int_equal(input_count(), 1);
  assert_int_equal(input_model_free_buffers(f->m), 64);
  assert_true(input_model_send(f->m, EV_KEY, KEY_B, 1));
  poll(f);
  assert_int_equal(nseen, 1);
  assert_int_equal(seen[0].code, KEY_B);
  assert_int_equal(input_model_free_buffers(f->m), 64);
}

static void unknown_events_dropped(void **state) {
  struct fx *f = fx_of(state);
  assert_int_equal(start(f, INPUT_MODEL_KEYBOARD, NULL, 0), RL_OK);
  assert_true(input_model_send(f->m, EV_ABS, ABS_X, 5)); /* not announced */
  assert_true(
      input_model_send(f->m, EV_KEY, 0x2f0, 1));     /* code not announced */
  assert_true(input_model_send(f->m, 0x1e, 0, 1));   /* no such type */
  assert_true(input_model_send(f->m, EV_SYN, 7, 0)); /* no such SYN */
  assert_true(input_model_send(f->m, EV_KEY, KEY_Q, 1));
  poll(f);
  assert_int_equal(stats().unknown, 4);
  assert_int_equal(nseen, 1);
  assert_int_equal(seen[0].code, KEY_Q);
  assert_int_equal(input_model_free_buffers(f->m), 64);
}

static void config_lies_about_sizes(void **state) {
  struct fx *f = fx_of(state);
  static const uint8_t lies[][3] = {
      {0x01, 0, 255}, /* ID_NAME longer than the union */
      {0x03, 0, 4},   /* DEVIDS not 8 bytes */
      {0x12, 0, 12},  /* ABS_INFO X not 20 bytes */
      {0x11, 1, 200}, /* EV_BITS of EV_KEY longer than the union */
  };
  assert_int_equal(start(f, INPUT_MODEL_TABLET, lies, 4), RL_OK);
  /* Without the X range the tablet cannot be scaled: not a tablet. */
  assert_int_not_equal(source()->kind, INPUT_KIND_TABLET);
  assert_false(source()->abs_x.valid);
  /* Its buttons were not taken either: a button event is unknown. */
  assert_true(input_model_send(f->m, EV_KEY, BTN_LEFT, 1));
  poll(f);
  assert_int_equal(stats().unknown, 1);
  assert_int_equal(nseen, 0);
}

static void caps_lock_led(void **state) {
  struct fx *f = fx_of(state);
  assert_int_equal(start(f, INPUT_MODEL_KEYBOARD, NULL, 0), RL_OK);
  const struct input_source *src = source();
  assert_int_equal(src->set_led(src, LED_CAPSL, true), RL_OK);
  uint16_t code;
  int32_t value;
  assert_int_equal(input_model_leds(f->m, &code, &value), 1);
  assert_int_equal(code, LED_CAPSL);
  assert_int_equal(value, 1);
  assert_int_equal(src->set_led(src, LED_CAPSL, false), RL_OK);
  assert_int_equal(input_model_leds(f->m, &code, &value), 2);
  assert_int_equal(value, 0);
  assert_int_equal(src->set_led(src, 9, true), RL_ERR_NOT_SUPPORTED);
}

static const struct matrix_case cases[] = {
    {"classify_tablet", classify_tablet},
    {"classify_mouse_and_keyboard", classify_mouse_and_keyboard},
    {"flood", flood},
    {"short_event_dropped", short_event_dropped},
    {"oversized_event_breaks_queue", oversized_event_breaks_queue},
    {"recovery_refills", recovery_refills},
    {"unknown_events_dropped", unknown_events_dropped},
    {"config_lies_about_sizes", config_lies_about_sizes},
    {"caps_lock_led", caps_lock_led},
};

static void *run_state(size_t n, size_t t, size_t v, size_t c, const char *name,
                       const char *why) {
  static struct run runs[RL_ARRAY_SIZE(transports) * RL_ARRAY_SIZE(variants) *
                         RL_ARRAY_SIZE(cases)];
  (void)why;
  (void)c;
  runs[n] = (struct run){&transports[t], &variants[v], name};
  return &runs[n];
}

int main(void) {
  const struct variant_matrix m = {
      .group = "input_driver",
      .transports = MATRIX_AXIS(transports),
      .variants = MATRIX_AXIS(variants),
      .cases = cases,
      .ncases = RL_ARRAY_SIZE(cases),
      .setup = fx_setup,
      .teardown = fx_teardown,
      .state = run_state,
  };
  return run_variant_matrix(&m);
}
