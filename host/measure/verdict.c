#include "verdict.h"

#include <string.h>

static const char *const names[IMG_VERDICT_COUNT] = {
    [IMG_VERDICT_NONE] = "",
    [IMG_VERDICT_BIT_EXACT] = "bit-exact",
    [IMG_VERDICT_MISMATCH] = "MISMATCH",
    [IMG_VERDICT_ERROR] = "ERROR",
    [IMG_VERDICT_UNAVAILABLE] = "unavailable",
};

const char *img_verdict_name(img_verdict v)
{
    return (unsigned)v < IMG_VERDICT_COUNT ? names[v] : "";
}

img_verdict img_verdict_from_name(const char *name)
{
    for (int v = 1; v < IMG_VERDICT_COUNT; v++)
        if (strcmp(name, names[v]) == 0)
            return (img_verdict)v;
    return IMG_VERDICT_NONE;
}
