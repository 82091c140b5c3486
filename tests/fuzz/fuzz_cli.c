/* libFuzzer target for the command-line parser: the input is split at NUL bytes
 * into arguments. Any argument list must parse or give a one-line error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX_ARGS = 32 };
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 1] = {"imgpipe"};
    int argc = 1;
    for (size_t i = 0; i <= size && argc < MAX_ARGS;) {
        argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    argv[argc] = NULL;
    img_cli cli;
    img_error err;
    if (img_cli_parse(&cli, argc, argv, &err) != 0 && strchr(err.message, '\n') != NULL)
        abort();   /* errors are one line */
    free(text);
    return 0;
}
