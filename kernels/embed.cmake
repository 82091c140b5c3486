# Turns a text file into a C array at build time, so the kernels ship inside the
# binary yet stay a real .cl file in the tree (run by add_custom_command; see the
# top-level CMakeLists.txt).
#
#   cmake -DINPUT=pipeline.cl -DOUTPUT=out.c -DSYMBOL=name -P embed.cmake
#
# Defines `const unsigned char SYMBOL[]` (the bytes plus a terminating NUL, which
# also keeps an empty input a valid C array) and `const size_t SYMBOL_len` (the
# byte count without the NUL).
foreach(var INPUT OUTPUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR byte_count "${hex_len} / 2")
# "ab" -> "0xab, ", 16 bytes per line (CMake regexes have no {n}, hence REPEAT).
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1, " bytes "${hex}")
string(REPEAT "0x[0-9a-f][0-9a-f], " 16 line_of_bytes)
string(REGEX REPLACE "(${line_of_bytes})" "\\1\n    " bytes "${bytes}")

set(text "/* Generated from ${INPUT} by kernels/embed.cmake: do not edit. */\n")
string(APPEND text "#include <stddef.h>\n\n")
string(APPEND text "const unsigned char ${SYMBOL}[] = {\n    ${bytes}0x00\n};\n")
string(APPEND text "const size_t ${SYMBOL}_len = ${byte_count};\n")

# Written beside the target and renamed, so an interrupted build never leaves a
# half-written source that looks up to date.
file(WRITE "${OUTPUT}.tmp" "${text}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
