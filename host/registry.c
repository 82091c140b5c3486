typedef int img_registry_placeholder;
