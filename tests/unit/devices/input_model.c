/* The virtio-input device model: see input_model.h. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "input_model.h"

#define MAX_PENDING 1024
#define MAX_LIES 4
#define CFG_SIZE 136 /* §5.8.4: 8 bytes of header, a 128-byte union */

struct lie {
  uint8_t select, subsel, size;
};

struct input_model {
  struct vm_dev *vm;
  enum input_model_kind kind;
  struct model_chain pending[MAX_PENDING]; /* eventq buffers, oldest first */
  unsigned head, count;
  unsigned long dropped;
  unsigned long leds;
  uint16_t led_code;
  int32_t led_value;
  struct lie lies[MAX_LIES];
  unsigned nlies;
};

static void set_bit(uint8_t *map, unsigned bit) {
  map[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

/* The answer to (select, subsel): its bytes in data, its size. */
static uint8_t answer(const struct input_model *m, uint8_t select,
                      uint8_t subsel, uint8_t *data) {
  static const char *const names[] = {
      "QEMU Virtio Keyboard", "QEMU Virtio Mouse", "QEMU Virtio Tablet"};
  memset(data, 0, 128);
  switch (select) {
  case 0x01: { /* ID_NAME */
    size_t n = strlen(names[m->kind]);
    memcpy(data, names[m->kind], n);
    return (uint8_t)(n + 1);
  }
  case 0x03:                     /* ID_DEVIDS */
    data[0] = 6;                 /* BUS_VIRTUAL */
    data[2] = 0x27, data[3] = 6; /* vendor 0x0627 */
    data[4] = (uint8_t)(m->kind + 1);
    data[6] = 1;
    return 8;
  case 0x11:           /* EV_BITS */
    if (subsel == 1) { /* EV_KEY */
      if (m->kind == INPUT_MODEL_KEYBOARD) {
        for (unsigned k = 1; k < 128; k++) {
          set_bit(data, k);
        }
        return 16;
      }
      set_bit(data, 0x110); /* BTN_LEFT, as a mouse or tablet has */
      set_bit(data, 0x111);
      return 35;
    }
    if (subsel == 2 && m->kind == INPUT_MODEL_MOUSE) { /* EV_REL */
      set_bit(data, 0);
      set_bit(data, 1);
      set_bit(data, 8);
      return 2;
    }
    if (subsel == 3 && m->kind == INPUT_MODEL_TABLET) { /* EV_ABS */
      set_bit(data, 0);
      set_bit(data, 1);
      return 1;
    }
    if (subsel == 0x11 && m->kind == INPUT_MODEL_KEYBOARD) { /* EV_LED */
      set_bit(data, 0);
      set_bit(data, 1);
      set_bit(data, 2);
      return 1;
    }
    return 0;
  case 0x12: /* ABS_INFO */
    if (m->kind == INPUT_MODEL_TABLET && subsel <= 1) {
      put32(data, 0);
      put32(data + 4, 32767);
      return 20;
    }
    return 0;
  default:
    return 0;
  }
}

static void config_write(struct vm_dev *d, uint32_t offset, unsigned width,
                         uint32_t value, void *ctx) {
  struct input_model *m = ctx;
  uint8_t *cfg = vm_config_space(d);
  if (width != 1 || offset > 1) {
    vm_violation(d,
                 "input config: write of %u bytes at %u; only select and "
                 "subsel (one byte each) are writable (§5.8.4)",
                 width, offset);
    return;
  }
  cfg[offset] = (uint8_t)value;
  cfg[2] = answer(m, cfg[0], cfg[1], cfg + 8);
  for (unsigned i = 0; i < m->nlies; i++) {
    if (m->lies[i].select == cfg[0] && m->lies[i].subsel == cfg[1]) {
      cfg[2] = m->lies[i].size;
    }
  }
}

static void on_chain(struct vm_dev *d, unsigned q, const struct model_chain *c,
                     void *ctx) {
  struct input_model *m = ctx;
  if (q == 1) { /* statusq: device-readable events (§5.8.6.2) */
    uint8_t ev[8];
    if (c->out_len < 8 || !vm_read(d, c, 0, ev, 8)) {
      vm_violation(d, "statusq chain %u: %u readable bytes, not an event",
                   c->id, c->out_len);
      return;
    }
    if ((ev[0] | ev[1] << 8) == 0x11) {
      m->leds++;
      m->led_code = (uint16_t)(ev[2] | ev[3] << 8);
      m->led_value = (int32_t)((uint32_t)ev[4] | (uint32_t)ev[5] << 8 |
                               (uint32_t)ev[6] << 16 | (uint32_t)ev[7] << 24);
    }
    vm_answer(d, q, c, NULL, 0, 0);
    return;
  }
  if (c->out_len != 0 || c->in_len < 8) {
    vm_violation(d,
                 "eventq chain %u: %u readable and %u writable bytes; an "
                 "event buffer is 8 writable bytes (§5.8.6)",
                 c->id, c->out_len, c->in_len);
    return;
  }
  assert_true(m->count < MAX_PENDING);
  m->pending[(m->head + m->count) % MAX_PENDING] = *c;
  m->count++;
}

static void on_reset(struct vm_dev *d, void *ctx) {
  (void)d;
  struct input_model *m = ctx;
  m->head = m->count = 0; /* the driver's buffers are its own again */
}

static const struct vm_device_ops input_ops = {
    .chain = on_chain, .config_write = config_write, .reset = on_reset};

struct input_model *input_model_create(const struct input_model_config *cfg) {
  struct input_model *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  m->kind = cfg->kind;
  struct vm_config vc = {
      .name = "input model",
      .version = cfg->version,
      .device_id = 18, /* §5.8.1 */
      .features = cfg->transport,
      .queue_num_max = {64, 64},
      .config_size = CFG_SIZE,
      .irq = cfg->irq,
      .pa = cfg->pa,
      .ops = &input_ops,
      .ctx = m,
  };
  m->vm = vm_create(&vc);
  return m;
}

void input_model_destroy(struct input_model *m) {
  if (m == NULL) {
    return;
  }
  vm_destroy(m->vm);
  free(m);
}

struct vm_dev *input_model_vm(struct input_model *m) {
  return m->vm;
}

void input_model_lie(struct input_model *m, uint8_t select, uint8_t subsel,
                     uint8_t size) {
  assert_true(m->nlies < MAX_LIES);
  m->lies[m->nlies++] = (struct lie){select, subsel, size};
}

bool input_model_send_raw(struct input_model *m, uint16_t type, uint16_t code,
                          int32_t value, uint32_t used_len) {
  if (m->count == 0) {
    m->dropped++;
    return false;
  }
  struct model_chain c = m->pending[m->head];
  m->head = (m->head + 1) % MAX_PENDING;
  m->count--;
  uint8_t ev[8] = {(uint8_t)type, (uint8_t)(type >> 8), (uint8_t)code,
                   (uint8_t)(code >> 8)};
  put32(ev + 4, (uint32_t)value);
  vm_answer(m->vm, 0, &c, ev, 8, used_len);
  return true;
}

bool input_model_send(struct input_model *m, uint16_t type, uint16_t code,
                      int32_t value) {
  return input_model_send_raw(m, type, code, value, 8);
}

unsigned input_model_free_buffers(const struct input_model *m) {
  return m->count;
}

unsigned long input_model_dropped(const struct input_model *m) {
  return m->dropped;
}

unsigned long input_model_leds(const struct input_model *m, uint16_t *code,
                               int32_t *value) {
  *code = m->led_code;
  *value = m->led_value;
  return m->leds;
}
