/* The JSON writer every JSON file goes through (bench.json, traces): strings escaped
 * one way everywhere, and the small pieces objects and arrays are built from. Layout
 * (spaces, newlines) stays with the caller: the files are meant to be read by people
 * as well as parsers. */
#ifndef IMG_CORE_JSON_H
#define IMG_CORE_JSON_H

#include <stdbool.h>
#include <stdio.h>

/* s as a JSON string: quoted; '"' and '\\' escaped, control characters as \u00XX;
 * other bytes (UTF-8 included) pass through. */
void img_json_string(FILE *f, const char *s);

/* An object member's name and its colon: "key": (the value follows). */
void img_json_key(FILE *f, const char *key);

/* A number with a printf format for one double ("%.9f", "%.3f"). */
void img_json_double(FILE *f, const char *format, double v);

void img_json_bool(FILE *f, bool v);
void img_json_null(FILE *f);

/* The separator before the next item of an object or array: nothing before the first
 * (*count == 0), `sep` before the others; counts the item. */
void img_json_next(FILE *f, int *count, const char *sep);

#endif
