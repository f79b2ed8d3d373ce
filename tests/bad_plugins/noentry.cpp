// A shared library that loads fine but is no ferry plugin: it lacks ferry_plugin_entry.
extern "C" __attribute__((visibility("default"))) int ferry_not_the_entry_point() { return 42; }
