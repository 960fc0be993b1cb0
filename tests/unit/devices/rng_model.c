/* The entropy device model (virtio 1.2 §5.4): see rng_model.h. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>

#include "rng_model.h"

#define RNG_MAX_BUF 65536u

struct rng_model {
  struct vm_dev *vm;
  uint32_t max_bytes;
  uint64_t state; /* the byte sequence: xorshift64 */
  uint8_t last[RNG_MAX_BUF];
  uint32_t last_len, last_offered;
  unsigned long requests;
  bool overrun_once; /* the next answer's used length exceeds its buffer */
};

static uint8_t next_byte(struct rng_model *r) {
  r->state ^= r->state << 13;
  r->state ^= r->state >> 7;
  r->state ^= r->state << 17;
  return (uint8_t)(r->state >> 24);
}

static void on_chain(struct vm_dev *d, unsigned q, const struct model_chain *c,
                     void *ctx) {
  struct rng_model *r = ctx;
  /* §5.4.6.1: only device-writable buffers. */
  if (c->out_len != 0 || c->in_len == 0) {
    vm_violation(d,
                 "requestq chain %u: %u readable and %u writable bytes; "
                 "entropy requests are writable only (§5.4.6.1)",
                 c->id, c->out_len, c->in_len);
    return;
  }
  uint32_t n = c->in_len;
  if (r->max_bytes != 0 && n > r->max_bytes) {
    n = r->max_bytes;
  }
  n = RL_MIN(n, RNG_MAX_BUF);
  for (uint32_t i = 0; i < n; i++) {
    r->last[i] = next_byte(r);
  }
  r->last_len = n;
  r->last_offered = c->in_len;
  r->requests++;
  uint32_t used = n;
  if (r->overrun_once) {
    r->overrun_once = false;
    used = c->in_len + 1; /* nonsense the driver must catch */
  }
  vm_answer(d, q, c, r->last, n, used);
}

static const struct vm_device_ops rng_ops = {.chain = on_chain};

struct rng_model *rng_model_create(const struct rng_model_config *cfg) {
  struct rng_model *r = calloc(1, sizeof(*r));
  assert_non_null(r);
  r->max_bytes = cfg->max_bytes;
  r->state = cfg->seed != 0 ? cfg->seed : 0x9e3779b97f4a7c15ull;
  struct vm_config vc = {
      .name = "rng model",
      .version = cfg->version,
      .device_id = 4, /* §5.4.1 */
      .features = cfg->transport,
      .queue_num_max = {1024},
      .config_size = 0, /* §5.4.4: none */
      .irq = cfg->irq,
      .pa = cfg->pa,
      .ops = &rng_ops,
      .ctx = r,
  };
  r->vm = vm_create(&vc);
  return r;
}

void rng_model_destroy(struct rng_model *r) {
  if (r == NULL) {
    return;
  }
  vm_destroy(r->vm);
  free(r);
}

struct vm_dev *rng_model_vm(struct rng_model *r) {
  return r->vm;
}

void rng_model_set_max(struct rng_model *r, uint32_t max_bytes) {
  r->max_bytes = max_bytes;
}

void rng_model_overrun_once(struct rng_model *r) { r->overrun_once = true; }

const uint8_t *rng_model_last(const struct rng_model *r, uint32_t *len,
                              uint32_t *offered) {
  *len = r->last_len;
  *offered = r->last_offered;
  return r->last;
}

unsigned long rng_model_requests(const struct rng_model *r) {
  return r->requests;
}
