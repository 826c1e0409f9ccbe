// File input/output of the gst-smooth subcommands: bounded text reads for
// manifests, telling a manifest from a media file by its first bytes, writes
// that never leave a half-written file under the final name, and bounded
// copies of byte ranges.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keyframes.h"
#include "media_index.h"
#include "status.h"

enum class InputKind { kMedia, kClientManifest, kServerManifest };

// Looks at the first bytes only: XML (after a UTF-8/UTF-16 BOM and white
// space) with a <smil> root is a server manifest, any other XML a client
// manifest, everything else media. Fails when the file cannot be opened.
piff::Status SniffInput(const std::string& path, InputKind* out);

// Reads a whole text file, refusing files larger than max_bytes (manifests
// are small; a multi-gigabyte "manifest" is a mistake, not something to load).
piff::Status ReadTextFile(const std::string& path, uint64_t max_bytes, std::string* out);

// Writes `data` to path + ".part" and renames it over `path`.
piff::Status WriteFileAtomically(const std::string& path, const std::string& data);

// Copies bytes [offset, offset + size) of `source` into a new file at `path`
// (through path + ".part"), through a buffer of at most 1 MiB.
piff::Status CopyRangeToFile(piff::ByteSource& source, uint64_t offset, uint64_t size, const std::string& path);

// Writes `header`, then each range of `source` in order, into a new file at
// `path` (through path + ".part"), copying through a buffer of at most 1 MiB.
piff::Status CopyBodyToFile(piff::ByteSource& source, const std::vector<uint8_t>& header,
                            const std::vector<piff::ByteRange>& ranges, const std::string& path);

// True for an existing regular file (symbolic links followed).
bool IsRegularFile(const std::string& path);

// mkdir -p.
piff::Status MakeDirectories(const std::string& path);

// The directory part of a path ("." when there is none).
std::string DirectoryOf(const std::string& path);

// "12.345" seconds for a tick count.
std::string FormatSeconds(uint64_t ticks, uint64_t timescale);
