#!/usr/bin/python3
"""Writes the zip fixtures under test/fixtures/zip/ with real producers: CPython's zipfile, torch.save,
torch.jit.save and numpy.savez. Also writes expected.json: what CPython's zipfile reads from each file.

Run with Debian's python3 (python3-torch 1.13, python3-numpy): /usr/bin/python3 scripts/make-zip-fixtures.py
CI does not run this; the outputs are committed.
"""
import hashlib
import io
import json
import os
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'zip')
FIXED_TIME = (2024, 1, 2, 3, 4, 6)


def info(name, method=zipfile.ZIP_STORED):
    zi = zipfile.ZipInfo(name, FIXED_TIME)
    zi.compress_type = method
    zi.external_attr = 0o644 << 16
    return zi


TEXT = b''.join(b'line %d: the quick brown fox jumps over the lazy dog\n' % i for i in range(400))
BINARY = bytes((i * 7919 + (i >> 3) * 31) & 0xFF for i in range(5000))


def stored(path):
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr(info('a.txt'), b'hello, zip\n')
        z.writestr(info('dir/'), b'')
        z.writestr(info('dir/b.bin'), BINARY)
        z.writestr(info('empty'), b'')
        z.comment = b'tensorsafe fixture comment'


def deflated(path):
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr(info('text.txt', zipfile.ZIP_DEFLATED), TEXT)
        z.writestr(info('binary.bin', zipfile.ZIP_DEFLATED), BINARY)
        z.writestr(info('empty.txt', zipfile.ZIP_DEFLATED), b'')
        z.writestr(info('stored.txt'), b'not compressed')


def utf8_names(path):
    with zipfile.ZipFile(path, 'w') as z:
        for name, data in [('données/π.bin', b'pi'), ('日本語.txt', b'nihongo'), ('emoji-🙂.txt', b'smile'), ('plain.txt', b'ascii')]:
            z.writestr(info(name, zipfile.ZIP_DEFLATED), data)


def cp437_names(path):
    # zipfile writes non-ASCII names as UTF-8 (flag 0x800); write placeholders and patch in CP437 bytes,
    # so that the names carry no flag and must be decoded as code page 437.
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr(info('caf?.txt'), b'cafe')
        z.writestr(info('?ber-?.txt'), b'uber')
    data = open(path, 'rb').read()
    data = data.replace(b'caf?.txt', 'café.txt'.encode('cp437')).replace(b'?ber-?.txt', 'Über-ß.txt'.encode('cp437'))
    open(path, 'wb').write(data)


def zip64_forced(path):
    with zipfile.ZipFile(path, 'w') as z:
        for name, data, method in [('small.txt', b'forced zip64', zipfile.ZIP_STORED), ('text.txt', TEXT, zipfile.ZIP_DEFLATED)]:
            with z.open(info(name, method), 'w', force_zip64=True) as f:
                f.write(data)


def zip64_full(path):
    # Lower zipfile's ZIP64 thresholds so that small files get ZIP64 central extras and ZIP64 end records.
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 100, 2
    try:
        with zipfile.ZipFile(path, 'w', allowZip64=True) as z:
            z.writestr(info('first.bin'), BINARY)
            z.writestr(info('second.txt', zipfile.ZIP_DEFLATED), TEXT)
            z.writestr(info('third.bin'), BINARY[:1000])
            z.comment = b'zip64 end records'
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved


class Unseekable(io.RawIOBase):
    """A write-only stream without tell/seek: zipfile then writes data descriptors (flag 0x08)."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)

    def seekable(self):
        return False


def data_descriptors(path):
    out = Unseekable()
    with zipfile.ZipFile(out, 'w') as z:
        z.writestr(info('stored.bin'), BINARY)
        z.writestr(info('deflated.txt', zipfile.ZIP_DEFLATED), TEXT)
        with z.open(info('streamed.txt', zipfile.ZIP_DEFLATED), 'w') as f:
            f.write(TEXT[:3000])
    open(path, 'wb').write(bytes(out.buf))


def empty(path):
    with zipfile.ZipFile(path, 'w'):
        pass


def torch_files():
    import torch

    torch.manual_seed(0)
    torch.save({'w': torch.arange(10.0)}, os.path.join(OUT, 'torch-arange.pt'))
    torch.save(
        {'weight': torch.randn(3, 4), 'bias': torch.zeros(3, dtype=torch.float16), 'steps': torch.tensor([1, 2, 3]), 'view': torch.arange(12.0)[2:8]},
        os.path.join(OUT, 'torch-state.pt'),
    )

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x) * 2

    torch.jit.save(torch.jit.script(Tiny()), os.path.join(OUT, 'torchscript.pt'))


def numpy_files():
    import numpy as np

    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    b = np.array([1, 2, 3], dtype=np.int64)
    np.savez(os.path.join(OUT, 'numpy.npz'), a=a, b=b)
    np.savez_compressed(os.path.join(OUT, 'numpy-compressed.npz'), a=a, b=b)


def describe(path):
    with zipfile.ZipFile(path) as z:
        entries = []
        for zi in z.infolist():
            data = z.read(zi)
            entries.append({
                'name': zi.filename,
                'method': zi.compress_type,
                'flags': zi.flag_bits,
                'size': zi.file_size,
                'compressedSize': zi.compress_size,
                'crc32': zi.CRC,
                'localHeaderOffset': zi.header_offset,
                'sha256': hashlib.sha256(data).hexdigest(),
            })
        return {'comment': z.comment.decode('utf-8'), 'entries': entries}


def main():
    os.makedirs(OUT, exist_ok=True)
    makers = {
        'stored.zip': stored,
        'deflated.zip': deflated,
        'utf8-names.zip': utf8_names,
        'cp437-names.zip': cp437_names,
        'zip64-forced.zip': zip64_forced,
        'zip64-full.zip': zip64_full,
        'data-descriptors.zip': data_descriptors,
        'empty.zip': empty,
    }
    for name, make in makers.items():
        make(os.path.join(OUT, name))
    torch_files()
    numpy_files()
    expected = {}
    for name in sorted(os.listdir(OUT)):
        if name.endswith(('.zip', '.pt', '.npz')):
            expected[name] = describe(os.path.join(OUT, name))
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write('\n')


if __name__ == '__main__':
    main()
