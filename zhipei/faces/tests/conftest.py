"""Real faces from ../shared/testdata (CI has it beside the clone)."""

from pathlib import Path

import pytest

from zhipei.accounts.models import ConsentDocument, ConsentRecord
from zhipei.lib.face import mjpeg_frames

TESTDATA = Path(__file__).resolve().parents[3].parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.exists():
        pytest.skip("../shared/testdata is not beside the project")
    return TESTDATA


@pytest.fixture(scope="session")
def photo(testdata):
    return lambda name: (testdata / "faces" / name).read_bytes()


@pytest.fixture(scope="session")
def burst(testdata):
    """Five frames of a webcam stream, `step` frames apart, starting at `start`."""
    cache: dict[str, list[bytes]] = {}

    def frames(stream: str, start: int = 0, count: int = 5, step: int = 2) -> list[bytes]:
        if stream not in cache:
            cache[stream] = mjpeg_frames(testdata / "webcam" / f"{stream}.mjpeg", limit=120)
        return cache[stream][start : start + count * step : step]

    return frames


def give_face_consent(user) -> None:
    doc = ConsentDocument.objects.get(kind="biometric")
    ConsentRecord.objects.create(user=user, document=doc, action=ConsentRecord.Action.ACCEPT)
