/* imgpipe: subcommand dispatch only. */
#include <stdio.h>

#include "app.h"
#include "cli.h"
#include "cpus.h"

int main(int argc, char **argv)
{
    img_cli cli;
    img_error err = {{0}};
    if (img_cli_parse(&cli, argc, argv, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        return IMG_EXIT_USAGE;
    }
    if (cli.version) {
        printf("imgpipe %s\n", IMGPIPE_VERSION);
        return IMG_EXIT_OK;
    }
    if (cli.help || cli.command == IMG_CMD_NONE) {
        fputs(img_cli_usage(cli.command), stdout);
        if (cli.command != IMG_CMD_NONE)
            fputs("\nRun 'imgpipe --help' for the pipeline and backend options.\n", stdout);
        return IMG_EXIT_OK;
    }
    /* Affinity first, so every thread created later (pools, OpenCL) inherits it. */
    if (cli.cpus && img_set_cpus(cli.cpus, &err) != 0) {
        fprintf(stderr, "imgpipe: --cpus: %s\n", err.message);
        return IMG_EXIT_USAGE;
    }
    switch (cli.command) {
    case IMG_CMD_RUN: return img_cmd_run(&cli);
    case IMG_CMD_INFO: return img_cmd_info(&cli);
    case IMG_CMD_VERIFY: return img_cmd_verify(&cli);
    case IMG_CMD_BENCH: return img_cmd_bench(&cli);
    case IMG_CMD_BATCH: return img_cmd_batch(&cli);
    case IMG_CMD_CHART: return img_cmd_chart(&cli);
    case IMG_CMD_CODECS: return img_cmd_codecs(&cli);
    case IMG_CMD_DECODE_BENCH: return img_cmd_decode_bench(&cli);
    default:
        fprintf(stderr, "imgpipe: this command is not implemented yet\n");
        return IMG_EXIT_FAILURE;
    }
}
