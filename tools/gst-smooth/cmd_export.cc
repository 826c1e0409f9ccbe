// gst-smooth export: placeholder until the subcommand lands (read-side issue).
#include <cstdio>

#include "commands.h"

int CmdExport(int argc, char** argv) {
  std::fprintf(stderr, "gst-smooth export: not available in this build yet\n");
  return 1;
}
