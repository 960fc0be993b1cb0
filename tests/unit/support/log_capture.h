/* The log as host tests read it back. */
#ifndef TESTS_UNIT_SUPPORT_LOG_CAPTURE_H
#define TESTS_UNIT_SUPPORT_LOG_CAPTURE_H

/* The log (lib/log.h) captured through a sink: start once, clear before
 * what a test wants to read, text since the last clear. */
void log_capture_start(void);
void log_capture_clear(void);
const char *log_capture_text(void);
/* The log's last lines (the replay a new sink gets), for a test that did
 * not capture from the start. */
const char *log_capture_replay(void);

#endif
