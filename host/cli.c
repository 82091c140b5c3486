typedef int img_cli_placeholder;
