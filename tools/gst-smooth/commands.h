// The subcommands of the gst-smooth command-line tool. Each returns the
// process exit code: 0 success, 1 failure (message on stderr), 2 usage error.
#pragma once

int CmdInspect(int argc, char** argv);   // gst-smooth inspect FILE
int CmdManifest(int argc, char** argv);  // gst-smooth manifest -o NAME.ism FILE...
int CmdExport(int argc, char** argv);    // gst-smooth export --out DIR NAME.ism
int CmdServe(int argc, char** argv);     // gst-smooth serve --root DIR [--port N] [--bind ADDR]
int CmdPackage(int argc, char** argv);   // gst-smooth package -o NAME.ismv INPUT.mp4...
