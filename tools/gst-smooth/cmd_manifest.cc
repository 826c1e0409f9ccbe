// gst-smooth manifest: placeholder until the subcommand lands (read-side issue).
#include <cstdio>

#include "commands.h"

int CmdManifest(int argc, char** argv) {
  std::fprintf(stderr, "gst-smooth manifest: not available in this build yet\n");
  return 1;
}
