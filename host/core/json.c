#include "json.h"

void img_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void img_json_key(FILE *f, const char *key)
{
    img_json_string(f, key);
    fputs(": ", f);
}

void img_json_double(FILE *f, const char *format, double v)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    fprintf(f, format, v);
#pragma GCC diagnostic pop
}

void img_json_bool(FILE *f, bool v)
{
    fputs(v ? "true" : "false", f);
}

void img_json_null(FILE *f)
{
    fputs("null", f);
}

void img_json_next(FILE *f, int *count, const char *sep)
{
    if ((*count)++ > 0)
        fputs(sep, f);
}
