"""The CJK font shipped as a Python package (Noto Sans CJK, SIL OFL): nothing fetched at run time."""

from functools import cache
from pathlib import Path


@cache
def cjk_font_path() -> Path:
    import cvttf_NotoSansCJK_Regular as package

    path = Path(package.__file__).parent / "NotoSansCJKtc-Regular.otf"
    if not path.exists():
        raise FileNotFoundError(f"CJK font missing from the installed package: {path}")
    return path
