"""Footprint of the kernel's parts from the linked image: the lld map file
(out/NAME/kernel.map) attributes every input section to its object file;
sizes are summed per component and per kind (text, rodata, data, bss)."""
import os
import re
import struct

# Component -> object path prefixes (GN object dirs under out/NAME/obj/).
COMPONENTS = [
    ("virtio core", ("obj/virtio/core/",)),
    ("split ring", ("obj/virtio/queue-split/",)),
    ("packed ring", ("obj/virtio/queue-packed/",)),
    ("mmio transport", ("obj/virtio/transport-mmio/",)),
    ("pci transport", ("obj/virtio/transport-pci/", "obj/pci/")),
    ("gpu driver", ("obj/drivers/gpu/", "obj/drivers/drivers.registry")),
    ("rng driver", ("obj/drivers/rng/",)),
    ("arch", ("obj/arch/",)),
    ("kernel", ("obj/kernel/",)),
    ("devicetree", ("obj/devicetree/",)),
    ("mm", ("obj/mm/",)),
    ("graphics", ("obj/lib/gfx/",)),
    ("lib", ("obj/lib/",)),
]
KINDS = ("text", "rodata", "data", "bss")
INPUT = re.compile(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s{9}(\S+?):\((\S+)\)")


def kind_of(section):
    name = section.lstrip(".")
    for kind in KINDS:
        if name == kind or name.startswith(kind + ".") or name.startswith(kind + "_"):
            return kind
    if name.startswith("srodata"):
        return "rodata"
    if name.startswith("sdata"):
        return "data"
    if name.startswith("sbss") or name == "COMMON":
        return "bss"
    return None


def component_of(path):
    for name, prefixes in COMPONENTS:
        if any(path.startswith(p) for p in prefixes):
            return name
    return "other"


def elf_sections(path):
    """{name: (flags, entsize, bytes)} of an ELF64 little-endian file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("%s: not an ELF64 little-endian file" % path)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)

    def header(i):
        # name, type, flags, addr, offset, size, link, info, align, entsize
        return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)

    names = header(shstrndx)
    sections = {}
    for i in range(shnum):
        name, kind, flags, _, off, size, _, _, _, entsize = header(i)
        end = data.index(b"\0", names[4] + name)
        label = data[names[4] + name:end].decode()
        body = b"" if kind == 8 else data[off:off + size]  # 8: SHT_NOBITS
        sections[label] = (flags, entsize, body)
    return sections


def image_rodata(elf_path):
    """The bytes of the image's read-only data (where lld put the merged
    strings)."""
    return b"".join(body for name, (flags, _, body) in elf_sections(elf_path).items()
                    if name.startswith((".rodata", ".srodata")))


def merged_strings(obj_path, image):
    """Bytes of one object's mergeable strings (.rodata.str*) that are in
    the image: lld merges them into one synthetic section, so the map
    cannot say whose they are. A string counts (with its terminator) when
    the image holds it; --gc-sections drops the strings only dead code
    used. A string several objects share counts for each of them (an
    upper bound)."""
    total = 0
    for name, (_, entsize, body) in elf_sections(obj_path).items():
        if not name.startswith((".rodata.str", ".srodata.str")):
            continue
        unit = max(entsize, 1)
        nul = b"\0" * unit
        start = 0
        for i in range(0, len(body), unit):
            if body[i:i + unit] == nul:
                piece = body[start:i + unit]
                if piece in image:
                    total += len(piece)
                start = i + unit
    return total


def footprint(map_path):
    """{component: {kind: bytes}} for one linked image. text, data and bss
    come from the map; rodata adds each object's string literals."""
    sizes = {}
    objects = set()
    base = os.path.dirname(os.path.abspath(map_path))
    with open(map_path, encoding="utf-8") as f:
        for line in f:
            m = INPUT.match(line)
            if not m:
                continue
            size, path, section = int(m.group(1), 16), m.group(2), m.group(3)
            if path.startswith("obj/"):
                objects.add(path)
            kind = kind_of(section)
            if kind is None or size == 0 or path.startswith("<internal>"):
                continue  # <internal>: merged strings, counted per object
            comp = sizes.setdefault(component_of(path), dict.fromkeys(KINDS, 0))
            comp[kind] += size
    image = image_rodata(os.path.join(base, "kernel.elf"))
    for path in objects:
        n = merged_strings(os.path.join(base, path), image)
        if n:
            comp = sizes.setdefault(component_of(path), dict.fromkeys(KINDS, 0))
            comp["rodata"] += n
    return sizes


# What the footprint target counts (issue 15: "core+split+gpu"): the virtio
# core, the split ring, and the GPU driver with the graphics it shows
# (lib/gfx: surfaces, the console and its font). The transports are
# listed apart.
TARGET = ("virtio core", "split ring", "gpu driver", "graphics")
# Issue 15's bounds on that figure (text+rodata bytes, aarch64): the
# minimal configuration (tests/tools/test_footprint.py holds it there) and
# the default one.
MIN_TARGET_BYTES = 8192
DEFAULT_TARGET_BYTES = 16384


def target_bytes(fp):
    """text+rodata of the TARGET components of one footprint."""
    return sum(fp.get(c, {}).get(k, 0) for c in TARGET for k in ("text", "rodata"))


def table(results):
    """Markdown table; results: {(arch, config): footprint}."""
    lines = ["| arch | configuration | component | text | rodata | data | bss | text+rodata |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for (arch, config), fp in sorted(results.items()):
        for name, _ in COMPONENTS:
            if name not in fp:
                continue
            s = fp[name]
            lines.append("| %s | %s | %s | %d | %d | %d | %d | %d |" % (
                arch, config, name, s["text"], s["rodata"], s["data"], s["bss"],
                s["text"] + s["rodata"]))
        lines.append("| %s | %s | **core + split + gpu** | | | | | **%d** |"
                     % (arch, config, target_bytes(fp)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys
    fp = footprint(sys.argv[1])
    for k, v in sorted(fp.items()):
        print(k, v)
