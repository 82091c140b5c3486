/* `imgpipe info`: what this machine offers each backend. */
#include <stdio.h>

#include "app.h"
#include "chart.h"
#include "envinfo.h"
#include "registry.h"

int img_cmd_info(const img_cli *cli)
{
    (void)cli;
    img_env env;
    img_env_collect(&env);
    printf("imgpipe %s (commit %s, %s build, %s)\n", IMGPIPE_VERSION, env.commit, env.build_type,
           env.compiler);
    printf("CPU: %s\n", env.cpu_model);
    printf("cores: %d online, %d allowed to this process (%s)\n", env.cores_online,
           env.cores_allowed, env.affinity);
    printf("SIMD extensions: %s\n", env.cpu_flags[0] ? env.cpu_flags : "none");
    printf("chart scripts: %s\n", img_chart_script_dir());
    printf("\nbackends:\n");
    for (size_t i = 0; i < img_backend_count(); i++) {
        const img_backend *b = img_backend_at(i);
        char reason[256] = "";
        bool ok = b->probe(reason, sizeof reason);
        printf("  %-13s %-11s %s%s%s\n", b->name, ok ? "available" : "unavailable",
               b->description, ok ? "" : " -- ", ok ? "" : reason);
    }
    for (size_t i = 0; i < img_backend_count(); i++) {
        const img_backend *b = img_backend_at(i);
        img_error err;
        if (!b->list_devices)
            continue;
        putchar('\n');
        if (b->list_devices(stdout, &err) != 0)
            printf("  none: %s\n", err.message);
    }
    return IMG_EXIT_OK;
}
