// gst-smooth inspect: placeholder until the subcommand lands (read-side issue).
#include <cstdio>

#include "commands.h"

int CmdInspect(int argc, char** argv) {
  std::fprintf(stderr, "gst-smooth inspect: not available in this build yet\n");
  return 1;
}
