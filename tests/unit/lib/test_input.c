/* lib/input without a device: the US keymap with Shift and Caps Lock,
 * tablet scaling, mouse moves summed per SYN_REPORT batch and clamped,
 * and the subscriber table. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include <lib/input/input.h>

/* Types `codes` (0 ends; a negative code releases) and returns what the
 * keymap made of them. */
static void type(struct input_keyboard *k, const int *codes, char *out) {
  size_t n = 0;
  for (; *codes != 0; codes++) {
    bool caps = false;
    int code = *codes < 0 ? -*codes : *codes;
    char c = input_key_char(k, (uint16_t)code, *codes < 0 ? 0 : 1, &caps);
    if (c != 0) {
      out[n++] = c;
    }
    if (*codes > 0 && code != KEY_LEFTSHIFT && code != KEY_RIGHTSHIFT &&
        code != KEY_CAPSLOCK) {
      (void)input_key_char(k, (uint16_t)code, 0, &caps); /* release */
    }
  }
  out[n] = '\0';
}

static void keymap_us_shift_caps(void **state) {
  (void)state;
  struct input_keyboard k = {false, false, false};
  char out[64];
  /* Shift-h e l l o , space; Caps r Caps i; right Shift-1; 0 - = / */
  static const int codes[] = {KEY_LEFTSHIFT,
                              35,
                              -KEY_LEFTSHIFT,
                              18,
                              38,
                              38,
                              24,
                              KEY_COMMA,
                              KEY_SPACE,
                              KEY_CAPSLOCK,
                              19,
                              -KEY_CAPSLOCK,
                              KEY_CAPSLOCK,
                              23,
                              KEY_RIGHTSHIFT,
                              KEY_1,
                              -KEY_RIGHTSHIFT,
                              KEY_0,
                              KEY_MINUS,
                              KEY_EQUAL,
                              KEY_SLASH,
                              KEY_BACKSPACE,
                              KEY_ENTER,
                              0};
  type(&k, codes, out);
  assert_string_equal(out, "Hello, Ri!0-=/\b\n");
  /* Caps Lock with Shift: letters lower, symbols shifted. */
  static const int more[] = {
      KEY_CAPSLOCK,   KEY_LEFTSHIFT, KEY_A,         KEY_SEMICOLON,
      -KEY_LEFTSHIFT, KEY_A,         KEY_SEMICOLON, 0};
  type(&k, more, out);
  assert_string_equal(out, "a:A;");
}

static void keymap_caps_only_on_press(void **state) {
  (void)state;
  struct input_keyboard k = {false, false, false};
  bool changed = false;
  assert_int_equal(input_key_char(&k, KEY_CAPSLOCK, 1, &changed), 0);
  assert_true(changed && k.caps);
  assert_int_equal(input_key_char(&k, KEY_CAPSLOCK, 2, &changed), 0);
  assert_false(changed); /* autorepeat does not toggle */
  assert_int_equal(input_key_char(&k, KEY_CAPSLOCK, 0, &changed), 0);
  assert_false(changed);
  assert_true(k.caps);
  assert_int_equal(input_key_char(&k, KEY_A, 2, &changed), 'A'); /* repeat */
  assert_int_equal(input_key_char(&k, 0x2ff, 1, &changed), 0);
}

static void scale_abs(void **state) {
  (void)state;
  assert_int_equal(input_scale_abs(8192, 0, 32767, 1280), 320);
  assert_int_equal(input_scale_abs(24576, 0, 32767, 800), 600);
  assert_int_equal(input_scale_abs(0, 0, 32767, 1280), 0);
  assert_int_equal(input_scale_abs(32767, 0, 32767, 1280), 1279);
  /* (v - min) * size / (max - min + 1): 32742 * 1280 / 32768 = 1278.98. */
  assert_int_equal(input_scale_abs(32742, 0, 32767, 1280), 1278);
  assert_int_equal(input_scale_abs(-5, 0, 32767, 1280), 0); /* clamped */
  assert_int_equal(input_scale_abs(99999, 0, 32767, 1280), 1279);
  assert_int_equal(input_scale_abs(0, -100, 99, 200), 100); /* min < 0 */
  assert_int_equal(input_scale_abs(INT32_MAX, INT32_MIN, INT32_MAX, 7), 6);
  assert_int_equal(input_scale_abs(5, 10, 10, 100), 0); /* empty range */
}

static bool feed(struct input_pointer *p, const struct input_source *src,
                 uint16_t type, uint16_t code, int32_t value, uint32_t *x,
                 uint32_t *y) {
  struct input_event ev = {type, code, value};
  return input_pointer_feed(p, src, &ev, 1280, 800, x, y);
}

static void pointer_batches(void **state) {
  (void)state;
  struct input_source tablet = {.kind = INPUT_KIND_TABLET,
                                .abs_x = {0, 32767, true},
                                .abs_y = {0, 32767, true}};
  struct input_source mouse = {.kind = INPUT_KIND_MOUSE};
  struct input_pointer p;
  memset(&p, 0, sizeof(p));
  uint32_t x = 0, y = 0;
  /* Nothing moves until SYN_REPORT; a SYN alone moves nothing. */
  assert_false(feed(&p, &tablet, EV_SYN, SYN_REPORT, 0, &x, &y));
  assert_false(feed(&p, &tablet, EV_ABS, ABS_X, 8192, &x, &y));
  assert_false(feed(&p, &tablet, EV_ABS, ABS_Y, 24576, &x, &y));
  assert_true(feed(&p, &tablet, EV_SYN, SYN_REPORT, 0, &x, &y));
  assert_int_equal(x, 320);
  assert_int_equal(y, 600);
  /* A batch with X only keeps Y. */
  assert_false(feed(&p, &tablet, EV_ABS, ABS_X, 0, &x, &y));
  assert_true(feed(&p, &tablet, EV_SYN, SYN_REPORT, 0, &x, &y));
  assert_int_equal(x, 0);
  assert_int_equal(y, 600);
  /* Mouse moves sum over the batch, then clamp. */
  assert_false(feed(&p, &mouse, EV_REL, REL_X, 60, &x, &y));
  assert_false(feed(&p, &mouse, EV_REL, REL_X, 40, &x, &y));
  assert_false(feed(&p, &mouse, EV_REL, REL_Y, -50, &x, &y));
  assert_true(feed(&p, &mouse, EV_SYN, SYN_REPORT, 0, &x, &y));
  assert_int_equal(x, 100);
  assert_int_equal(y, 550);
  for (int i = 0; i < 10; i++) {
    assert_false(feed(&p, &mouse, EV_REL, REL_X, INT32_MAX, &x, &y));
  }
  assert_false(feed(&p, &mouse, EV_REL, REL_Y, INT32_MIN, &x, &y));
  assert_true(feed(&p, &mouse, EV_SYN, SYN_REPORT, 0, &x, &y));
  assert_int_equal(x, 1279);
  assert_int_equal(y, 0);
}

static int calls;
static void count(const struct input_source *src, const struct input_event *ev,
                  void *ctx) {
  (void)src;
  (void)ev;
  calls += *(int *)ctx;
}

static void subscribers(void **state) {
  (void)state;
  static int one = 1, ten = 10, more[INPUT_MAX_HANDLERS];
  struct input_source src = {.name = "t"};
  struct input_event ev = {EV_KEY, KEY_A, 1};
  assert_int_equal(input_subscribe(count, &one), RL_OK);
  assert_int_equal(input_subscribe(count, &one), RL_OK); /* once */
  assert_int_equal(input_subscribe(count, &ten), RL_OK);
  input_deliver(&src, &ev);
  assert_int_equal(calls, 11);
  for (int i = 0; i < INPUT_MAX_HANDLERS - 2; i++) {
    assert_int_equal(input_subscribe(count, &more[i]), RL_OK);
  }
  assert_int_equal(input_subscribe(count, &more[INPUT_MAX_HANDLERS - 1]),
                   RL_ERR_NO_SPACE);
  input_unsubscribe(count, &ten);
  for (int i = 0; i < INPUT_MAX_HANDLERS - 2; i++) {
    input_unsubscribe(count, &more[i]);
  }
  calls = 0;
  input_deliver(&src, &ev);
  assert_int_equal(calls, 1);
  input_unsubscribe(count, &one);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(keymap_us_shift_caps),
      cmocka_unit_test(keymap_caps_only_on_press),
      cmocka_unit_test(scale_abs),
      cmocka_unit_test(pointer_batches),
      cmocka_unit_test(subscribers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
