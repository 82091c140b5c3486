/* One-line error messages carried up to the CLI.
 *
 * Every fallible function takes an img_error * and returns 0 on success or -1 on
 * failure after filling the message. The CLI prints the message on one line; nothing
 * below the CLI prints or exits. */
#ifndef IMG_CORE_ERROR_H
#define IMG_CORE_ERROR_H

#include <stddef.h>

typedef struct img_error {
    char message[512];
} img_error;

/* Formats the message into err (when err is not NULL) and returns -1, so a failure
 * path reads `return img_fail(err, "...", ...);`. Control characters in the result
 * (from echoed user input) are replaced by '?', so a message is always one line. */
int img_fail(img_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
