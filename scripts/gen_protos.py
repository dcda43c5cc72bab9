"""Generate the Python gRPC code from protos/ into src/calendarintegration/.

    python scripts/gen_protos.py           # (re)generate
    python scripts/gen_protos.py --check   # fail if the committed code differs

The generated package is never edited by hand; this script is the one way to
produce it.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE = "calendarintegration"
TARGET = ROOT / "src"


def generate(out_dir: Path) -> None:
    proto_files = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / PACKAGE).rglob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *proto_files,
    ]
    # protoc resolves files relative to the include path, so run from protos/.
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for directory in [out_dir / PACKAGE, *(p for p in (out_dir / PACKAGE).rglob("*") if p.is_dir())]:
        init = directory / "__init__.py"
        if not init.exists():
            init.write_text('"""Generated from protos/ by scripts/gen_protos.py; do not edit."""\n')


def _differences(left: Path, right: Path) -> list[str]:
    diffs: list[str] = []
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__"])
    diffs += [f"only in generated: {n}" for n in comparison.left_only]
    diffs += [f"only in committed: {n}" for n in comparison.right_only]
    diffs += [f"differs: {n}" for n in comparison.diff_files]
    for sub in comparison.common_dirs:
        diffs += [f"{sub}/{d}" for d in _differences(left / sub, right / sub)]
    return diffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    options = parser.parse_args()
    if options.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            committed = TARGET / PACKAGE
            if not committed.exists():
                print("generated code is missing: run `make generate`", file=sys.stderr)
                return 1
            diffs = _differences(Path(tmp) / PACKAGE, committed)
            if diffs:
                print("generated code does not match protos/ (run `make generate`):", file=sys.stderr)
                print("\n".join(f"  {d}" for d in diffs), file=sys.stderr)
                return 1
        print("generated code matches protos/")
        return 0
    shutil.rmtree(TARGET / PACKAGE, ignore_errors=True)
    generate(TARGET)
    print(f"generated {PACKAGE} into {TARGET.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
