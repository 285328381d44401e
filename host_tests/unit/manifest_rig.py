# The board manifests (boards/*/manifest.py, boards/evse_manifest.py,
# boards/sim_manifest.py) run against a small fake of MicroPython's manifest
# API (include / package / module / metadata / require / freeze, as
# tools/manifestfile.py of a MicroPython checkout defines them), and an import
# walk over the firmware sources: plain string work and os.listdir / os.stat,
# so that it runs on CPython and on the Unix port alike.
import os

ROOT = "."
FW = "firmware"
# the simulator's package (evsesim: evsesim.sim, evsesim.fleet on the Unix port)
SIM = ("evsesim/__init__.py", "evsesim/sim.py", "evsesim/simctl.py", "evsesim/simdrive.py",
       "evsesim/simevents.py", "evsesim/simlink.py", "evsesim/fleet.py", "evsesim/hal/__init__.py",
       "evsesim/hal/sim.py", "evsesim/hal/simclock.py", "evsesim/hal/sim_io.py",
       "evsesim/hal/sim_meter.py", "evsesim/hal/sim_rs485.py", "evsesim/hal/sim_s0.py",
       "evsesim/hal/sim_eventfile.py")


def norm(path: str) -> str:
    out = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and out and out[-1] != "..":
            out.pop()
        else:
            out.append(part)
    return "/".join(out)


def dirname(path: str) -> str:
    i = path.rfind("/")
    return path[:i] if i >= 0 else ""


def join(a: str, b: str) -> str:
    return norm(a + "/" + b) if a else norm(b)


def is_file(path: str) -> bool:
    try:
        return not (os.stat(path)[0] & 0x4000)
    except OSError:
        return False


def is_dir(path: str) -> bool:
    try:
        return bool(os.stat(path)[0] & 0x4000)
    except OSError:
        return False


def walk_py(top: str, rel: str = "") -> list:
    """.py files under top, as paths relative to top, sorted."""
    out = []
    d = join(top, rel) if rel else top
    for name in sorted(os.listdir(d)):
        if name == "__pycache__":
            continue
        r = rel + "/" + name if rel else name
        if is_dir(join(top, r)):
            out += walk_py(top, r)
        elif name.endswith(".py"):
            out.append(r)
    return out


class Manifest:
    """What a manifest freezes: frozen = {target path: source path}. The
    port's own manifests ($(PORT_DIR), $(MPY_DIR)) are noted, not read."""

    def __init__(self) -> None:
        self.frozen = {}    # type: dict
        self.opt = {}       # type: dict  # target path -> opt level (None: the tool's default)
        self.external = []  # type: list
        self.meta = []      # type: list
        self.required = []  # type: list
        self._dirs = []     # type: list

    def run(self, path: str) -> "Manifest":
        path = norm(path)
        self._dirs.append(dirname(path))
        with open(path) as f:
            src = f.read()
        g = {"include": self.include, "package": self.package, "module": self.module,
             "metadata": self.metadata, "require": self.require, "freeze": self.freeze,
             "os": os}
        try:
            exec(src, g)
        finally:
            self._dirs.pop()
        return self

    def _here(self, p: str) -> str:
        return join(self._dirs[-1], p)

    def include(self, manifest, **kwargs) -> None:
        for m in (manifest,) if type(manifest) is str else manifest:
            if m.startswith("$("):
                self.external.append(m)
                continue
            p = self._here(m)
            if is_dir(p):
                p = join(p, "manifest.py")
            self.run(p)

    def _add(self, target: str, source: str, opt=None) -> None:
        assert is_file(source), "manifest names a missing file: " + source
        self.frozen[target] = source
        self.opt[target] = opt

    def package(self, package_path: str, files=None, base_path: str = ".", opt=None) -> None:
        base = self._here(base_path)
        top = join(base, package_path)
        names = files if files is not None else walk_py(top)
        for f in names:
            self._add(package_path + "/" + norm(f), join(top, f), opt)

    def module(self, module_path: str, base_path: str = ".", opt=None) -> None:
        base = self._here(base_path)
        self._add(norm(module_path).split("/")[-1], join(base, module_path), opt)

    def metadata(self, description=None, version=None, license=None, author=None) -> None:
        self.meta.append((description, version))

    def require(self, name: str, **kwargs) -> None:
        self.required.append(name)

    def freeze(self, path: str, script=None, opt=None) -> None:
        if path.startswith("$("):
            self.external.append(path)
            return
        top = self._here(path)
        if script is None:
            names = walk_py(top)
        elif type(script) is str:
            names = [script]
        else:
            names = list(script)
        for f in names:
            self._add(norm(f), join(top, f), opt)


def frozen_of(manifest_path: str) -> dict:
    return Manifest().run(manifest_path).frozen


# ---- the import walk ------------------------------------------------------------------------
def _statements(src: str) -> list:
    """The import statements of a source, one string each (parenthesized
    and backslash-continued ones joined); anywhere in the file: imports
    inside functions (the lazily loaded services) count too."""
    out = []
    lines = src.split("\n")
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        i += 1
        if not (s.startswith("import ") or s.startswith("from ")):
            continue
        while (s.count("(") > s.count(")") or s.endswith("\\")) and i < len(lines):
            s = s.rstrip("\\") + " " + lines[i].strip()
            i += 1
        k = s.find("#")
        if k >= 0:
            s = s[:k]
        out.append(s.replace("(", " ").replace(")", " "))
    return out


def module_file(name: str):
    """firmware-relative source of a module name (pkg/__init__.py for a
    package), or None when it is not ours."""
    p = name.replace(".", "/")
    if is_file(join(FW, p + ".py")):
        return p + ".py"
    if is_file(join(FW, p + "/__init__.py")):
        return p + "/__init__.py"
    return None


def imports_of(path: str) -> list:
    """Module names of the firmware package a source imports."""
    with open(path) as f:
        src = f.read()
    names = []
    for s in _statements(src):
        parts = s.split()
        if parts[0] == "import":
            for item in " ".join(parts[1:]).split(","):
                w = item.split()
                if w:
                    names.append(w[0])
        elif len(parts) >= 4 and parts[2] == "import":
            base = parts[1]
            names.append(base)
            for item in " ".join(parts[3:]).split(","):
                w = item.split()
                if w and w[0] != "*":
                    names.append(base + "." + w[0])     # a submodule, if it is one
    out = []
    for n in names:
        if n.startswith("evse") and module_file(n) is not None and n not in out:
            out.append(n)
    return out


def reachable(entry_files: list, skip=SIM) -> list:
    """Firmware-relative sources reachable by imports from the entry files
    (with the packages on the way), not descending into `skip`."""
    seen = []
    todo = []
    for p in entry_files:
        todo += imports_of(p)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for k in range(1, len(parts) + 1):       # importing a.b.c runs a, a.b too
            f = module_file(".".join(parts[:k]))
            if f is None or f in seen or f in skip:
                continue
            seen.append(f)
            todo += imports_of(join(FW, f))
    return sorted(seen)
