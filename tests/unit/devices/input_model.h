/* A virtio-input device for host tests (virtio 1.2 §5.8) on the
 * virtio-mmio model: a configuration space answering the selects like
 * QEMU's keyboard, mouse or tablet (hw/input/virtio-input-hid.c, read for
 * the facts), an event queue whose device-writable buffers it keeps until
 * it has events to send, and a status queue it records LED events from.
 * Knobs make it lie: a select answered with an impossible size, an event
 * written short or longer than its buffer, events of types it never
 * announced. */
#ifndef TESTS_UNIT_DEVICES_INPUT_MODEL_H
#define TESTS_UNIT_DEVICES_INPUT_MODEL_H

#include "vmmio.h"

enum input_model_kind {
  INPUT_MODEL_KEYBOARD,
  INPUT_MODEL_MOUSE,
  INPUT_MODEL_TABLET,
};

struct input_model_config {
  uint32_t version;   /* virtio-mmio 1 or 2 */
  uint64_t transport; /* transport features offered */
  enum input_model_kind kind;
  unsigned irq;
  paddr_t pa;
};

struct input_model;

struct input_model *input_model_create(const struct input_model_config *cfg);
void input_model_destroy(struct input_model *m);
struct vm_dev *input_model_vm(struct input_model *m);

/* The answer to (select, subsel) reports `size` instead of its own (the
 * bytes stay what they were). Up to 4 lies at once. */
void input_model_lie(struct input_model *m, uint8_t select, uint8_t subsel,
                     uint8_t size);

/* Writes one event into the oldest buffer the driver gave, used length
 * `used_len` (8 for a proper event). False when no buffer is free: the
 * event is dropped and counted, as QEMU drops what does not fit. */
bool input_model_send_raw(struct input_model *m, uint16_t type, uint16_t code,
                          int32_t value, uint32_t used_len);
bool input_model_send(struct input_model *m, uint16_t type, uint16_t code,
                      int32_t value);
/* Buffers the driver has given and the device not yet used. */
unsigned input_model_free_buffers(const struct input_model *m);
unsigned long input_model_dropped(const struct input_model *m);
/* LED events received on the status queue: the last code and value. */
unsigned long input_model_leds(const struct input_model *m, uint16_t *code,
                               int32_t *value);

#endif
