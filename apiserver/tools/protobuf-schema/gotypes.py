"""Read Go struct type metadata (field names, struct tags, field types) out of a Go ELF binary.

Go keeps a runtime type descriptor for every type that may be reflected on, listed by the
`.typelink` section. This walks those descriptors (layout of internal/abi in Go 1.22-1.24,
amd64) and returns every struct whose Go name starts with one of the given prefixes.
A type is described as {'k': kind, ...}: 'named' (with 'name', 'under' and for named
slices/maps 'elem'/'key'), 'ptr'/'slice' (with 'elem'), 'map' (with 'key', 'elem'),
or a basic kind.
"""
import re
import struct

KINDS = {1: 'bool', 2: 'int', 3: 'int8', 4: 'int16', 5: 'int32', 6: 'int64', 7: 'uint', 8: 'uint8',
         9: 'uint16', 10: 'uint32', 11: 'uint64', 12: 'uintptr', 13: 'float32', 14: 'float64',
         17: 'array', 18: 'chan', 19: 'func', 20: 'interface', 21: 'map', 22: 'ptr', 23: 'slice',
         24: 'string', 25: 'struct'}
# Size of the kind-specific type descriptor, where the "uncommon" part (package path) follows.
DESC_SIZE = {17: 72, 20: 80, 21: 112, 22: 56, 23: 56, 25: 80}
K_ARRAY, K_MAP, K_PTR, K_SLICE, K_STRUCT = 17, 21, 22, 23, 25


class Binary:
    def __init__(self, path):
        self.data = open(path, 'rb').read()
        if self.data[:4] != b'\x7fELF' or self.data[4] != 2:
            raise SystemExit(f'{path}: not a 64-bit ELF file')
        shoff = struct.unpack_from('<Q', self.data, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from('<HHH', self.data, 0x3A)
        raw = [struct.unpack_from('<IIQQQQ', self.data, shoff + i * shentsize) for i in range(shnum)]
        strtab = raw[shstrndx][4]
        self.sections = {}
        for name, typ, _flags, addr, offset, size in raw:
            end = self.data.index(b'\0', strtab + name)
            self.sections[self.data[strtab + name:end].decode()] = (addr, offset, size, typ)
        # NOBITS sections (type 8) have no file contents.
        self.mapped = [(a, o, s) for a, o, s, t in self.sections.values() if a and t != 8]
        self.types_base = self.sections['.rodata'][0]

    def off(self, addr):
        for a, o, s in self.mapped:
            if a <= addr < a + s:
                return o + addr - a
        raise ValueError(f'address {addr:#x} is not mapped')

    def u8(self, a):
        return self.data[self.off(a)]

    def i32(self, a):
        return struct.unpack_from('<i', self.data, self.off(a))[0]

    def u64(self, a):
        return struct.unpack_from('<Q', self.data, self.off(a))[0]

    def varint(self, a):
        v = shift = 0
        while True:
            b = self.u8(a)
            a += 1
            v |= (b & 0x7f) << shift
            shift += 7
            if b < 0x80:
                return v, a

    def name(self, a):
        """abi.Name: flags byte, varint length, bytes, then optionally a varint-prefixed tag."""
        flags = self.u8(a)
        n, p = self.varint(a + 1)
        o = self.off(p)
        text = self.data[o:o + n].decode('utf-8', 'replace')
        p += n
        tag = None
        if flags & 2:
            tn, p = self.varint(p)
            o = self.off(p)
            tag = self.data[o:o + tn].decode('utf-8', 'replace')
        return text, tag, bool(flags & 8)


def main(path, prefixes):
    """Struct name ("pkg/path.Type") -> list of {name, tag, embedded, type}."""
    b = Binary(path)
    structs = {}

    def type_name(t):
        tflag = b.u8(t + 20)
        text, _, _ = b.name(b.types_base + b.i32(t + 40))
        return (text[1:] if tflag & 2 else text), tflag

    def pkg_path(t, kind):
        if not b.u8(t + 20) & 1:
            return None
        off = b.i32(t + DESC_SIZE.get(kind, 48))
        return b.name(b.types_base + off)[0] if off else ''

    def describe(t):
        kind = b.u8(t + 23) & 31
        text, tflag = type_name(t)
        k = KINDS.get(kind, f'k{kind}')
        if tflag & 4 and kind != K_PTR:
            pp = pkg_path(t, kind)
            full = f'{pp}.{text.split(".", 1)[-1]}' if pp else text
            d = {'k': 'named', 'name': full, 'under': k}
            if kind == K_STRUCT:
                visit_struct(t, full)
            elif kind == K_SLICE:
                d['elem'] = describe(b.u64(t + 48))
            elif kind == K_MAP:
                d['key'], d['elem'] = describe(b.u64(t + 48)), describe(b.u64(t + 56))
            return d
        if kind in (K_PTR, K_SLICE):
            return {'k': k, 'elem': describe(b.u64(t + 48))}
        if kind == K_ARRAY:
            return {'k': k, 'elem': describe(b.u64(t + 48)), 'len': b.u64(t + 64)}
        if kind == K_MAP:
            return {'k': k, 'key': describe(b.u64(t + 48)), 'elem': describe(b.u64(t + 56))}
        return {'k': k}

    def visit_struct(t, full):
        if full in structs or not any(full.startswith(p) for p in prefixes):
            return
        structs[full] = None  # cycle guard
        ptr, count = b.u64(t + 56), b.u64(t + 64)
        fields = []
        for i in range(count):
            f = ptr + 24 * i
            fname, tag, embedded = b.name(b.u64(f))
            fields.append({'name': fname, 'tag': tag, 'embedded': embedded, 'type': describe(b.u64(f + 8))})
        structs[full] = fields

    _, tl_off, tl_size, _ = b.sections['.typelink']
    for i in range(tl_size // 4):
        t = b.types_base + struct.unpack_from('<i', b.data, tl_off + 4 * i)[0]
        try:
            describe(t)
        except (ValueError, IndexError, struct.error):
            pass  # descriptors of kinds this reader does not follow (funcs, chans, ...)
    return {k: v for k, v in structs.items() if v is not None}


def go_version(path):
    m = re.search(rb'go1\.\d+(\.\d+)?', open(path, 'rb').read())
    return m.group(0).decode() if m else 'go?'
