/* `imgpipe bench`: lands with the dispatcher. */
#include <stdio.h>
#include "app.h"
int img_cmd_bench(const img_cli *cli)
{
    (void)cli;
    fprintf(stderr, "imgpipe: bench is not implemented yet\n");
    return IMG_EXIT_FAILURE;
}
