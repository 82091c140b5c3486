/* Placeholder until the io_pnm codec lands. */
typedef int img_io_pnm_placeholder;
