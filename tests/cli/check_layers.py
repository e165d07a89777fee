#!/usr/bin/python3
"""The layer rules of docs/architecture.md, checked on the source tree: which phi4flow modules each module may
include, where MPI, HDF5, the FFT libraries and SLEEF may appear, and how long a command function may grow. Prints every
violation with its file and line and exits 1 if there is any."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])

# Module -> the phi4flow modules it may include besides itself (error.hpp, types.hpp, version.hpp: everyone).
ALLOWED = {
    "lattice": set(),
    "rng": set(),
    "stats": set(),
    "parallel": set(),
    "physics": {"lattice"},
    "flow": {"lattice", "physics", "rng"},
    "train": {"flow", "lattice", "physics", "rng", "parallel"},
    "mcmc": {"flow", "lattice", "physics", "rng"},
    "io": {"lattice", "parallel"},
    "analysis": {"io", "stats", "lattice", "physics", "flow"},
    "run": {"mcmc", "train", "io", "parallel", "physics", "lattice", "flow", "rng"},
}
# Only these folders may talk to MPI, HDF5 or an FFT library directly.
MPI_FOLDERS = ("src/parallel/", "include/phi4flow/parallel/", "src/io/", "include/phi4flow/io/")
HDF5_FILES = ("src/io/",)
FFT_FILES = ("src/flow/fft.cpp",)
# SLEEF and the vector intrinsics: only the files compiled per instruction set and their dispatcher.
SIMD_FILES = ("src/flow/vector_math.cpp", "src/flow/simd/")
MAX_COMMAND_LINES = 60

problems = []
sources = sorted(p for p in list((root / "src").rglob("*")) + list((root / "include").rglob("*"))
                 if p.suffix in (".hpp", ".cpp", ".h", ".txt"))
for path in sources:
    rel = path.relative_to(root).as_posix()
    parts = rel.split("/")
    module = parts[2] if parts[0] == "include" and len(parts) > 3 else parts[1] if parts[0] == "src" else None
    text = path.read_text()
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{rel}:{number}"
        if re.search(r"mpi\.h|MPI_|parallel/mpi_comm\.hpp", line) and not rel.startswith(MPI_FOLDERS):
            problems.append(f"{where}: MPI outside parallel/ and io/: {line.strip()}")
        if re.search(r"#include\s*[<\"]hdf5\.h", line) and not rel.startswith(HDF5_FILES):
            problems.append(f"{where}: HDF5 C API outside src/io: {line.strip()}")
        if re.search(r"#include\s*[<\"](fftw3|cufft)\.h", line) and not rel.startswith(FFT_FILES):
            problems.append(f"{where}: an FFT library outside the flow/fft.hpp adapter: {line.strip()}")
        if re.search(r"#include\s*[<\"](sleef|immintrin)\.h", line) and not rel.startswith(SIMD_FILES):
            problems.append(f"{where}: SLEEF or intrinsics outside flow/vector_math.cpp and flow/simd/: {line.strip()}")
        included = re.match(r'\s*#include\s*"phi4flow/([a-z_]+)/', line)
        if included and module in ALLOWED and included.group(1) != module and included.group(1) not in ALLOWED[module]:
            problems.append(f"{where}: {module}/ may not include {included.group(1)}/ (docs/architecture.md)")
    if rel.startswith("src/app/") and rel.endswith("_command.cpp"):
        start = None
        for number, line in enumerate(text.splitlines(), 1):
            if re.match(r"int [a-z_]+_command\(", line):
                start = number
            elif start and line == "}":
                if number - start + 1 > MAX_COMMAND_LINES:
                    problems.append(f"{rel}:{start}: command function of {number - start + 1} lines "
                                    f"(at most {MAX_COMMAND_LINES}: move the work into a layer or a helper)")
                start = None

for problem in problems:
    print(problem)
print(f"check_layers: {len(sources)} files, {len(problems)} violations")
sys.exit(1 if problems else 0)
