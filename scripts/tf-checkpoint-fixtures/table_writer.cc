// Writes a LevelDB table with libleveldb's own TableBuilder, for tensorsafe's TensorFlow checkpoint
// fixtures (scripts/make-tf-checkpoint-fixtures.py). Usage:
//   table_writer OUT COMPRESSION(0 none, 1 snappy) BLOCK_SIZE RESTART_INTERVAL < entries
// entries: a sequence of [u32 key length][key][u32 value length][value], little-endian, keys ascending.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include "leveldb/env.h"
#include "leveldb/options.h"
#include "leveldb/table_builder.h"

static bool ReadU32(uint32_t* v) {
  unsigned char b[4];
  if (fread(b, 1, 4, stdin) != 4) return false;
  *v = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  return true;
}

static std::string ReadBytes(uint32_t n) {
  std::string s(n, '\0');
  if (n > 0 && fread(&s[0], 1, n, stdin) != n) { std::cerr << "short input\n"; exit(2); }
  return s;
}

int main(int argc, char** argv) {
  if (argc != 5) { std::cerr << "usage: table_writer OUT COMPRESSION BLOCK_SIZE RESTART_INTERVAL\n"; return 2; }
  leveldb::Options options;
  options.compression = atoi(argv[2]) == 1 ? leveldb::kSnappyCompression : leveldb::kNoCompression;
  options.block_size = atoi(argv[3]);
  options.block_restart_interval = atoi(argv[4]);
  leveldb::WritableFile* file;
  leveldb::Status s = leveldb::Env::Default()->NewWritableFile(argv[1], &file);
  if (!s.ok()) { std::cerr << s.ToString() << "\n"; return 1; }
  leveldb::TableBuilder builder(options, file);
  uint32_t n;
  while (ReadU32(&n)) {
    std::string key = ReadBytes(n);
    uint32_t m;
    if (!ReadU32(&m)) { std::cerr << "short input\n"; return 2; }
    builder.Add(key, ReadBytes(m));
  }
  s = builder.Finish();
  if (!s.ok()) { std::cerr << s.ToString() << "\n"; return 1; }
  s = file->Close();
  delete file;
  return s.ok() ? 0 : 1;
}
