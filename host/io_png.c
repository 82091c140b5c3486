/* Placeholder until the io_png codec lands. */
typedef int img_io_png_placeholder;
