typedef int img_synth_placeholder;
