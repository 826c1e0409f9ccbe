// gst-smooth serve: placeholder until the subcommand lands (read-side issue).
#include <cstdio>

#include "commands.h"

int CmdServe(int argc, char** argv) {
  std::fprintf(stderr, "gst-smooth serve: not available in this build yet\n");
  return 1;
}
