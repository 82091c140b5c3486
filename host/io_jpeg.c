/* Placeholder until the io_jpeg codec lands. */
typedef int img_io_jpeg_placeholder;
