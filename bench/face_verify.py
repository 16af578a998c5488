"""Face verification cost and accuracy.

1. Speed, side by side in one run on 640x480 webcam frames: the platform's whole verification
   path (decode, detect, quality gates, liveness, descriptor, decision, stamped + encrypted
   evidence write, database row and audit entry) against raw dlib (detector + 5-point shape +
   ResNet descriptor) on the same frames.
2. Accuracy at the configured threshold over every pair of images in --faces DIR (files named
   <person>_<anything>.<jpg|jpeg|png>; images without exactly one face are left out).

Run: .venv/bin/python bench/face_verify.py [--faces DIR] [--runs 30]
The replay check is switched off here (ZHIPEI_FACE_REPLAY_LOOKBACK=0) because the bench
replays the same recorded frames on purpose; its query still runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = ROOT.parent / "shared" / "testdata"


def setup_django(data_dir: str) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ["ZHIPEI_DATA_DIR"] = data_dir
    os.environ["ZHIPEI_FACE_REPLAY_LOOKBACK"] = "0"
    os.environ["ZHIPEI_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhipei.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def enrol_trainee(reference: bytes):
    from zhipei.accounts.models import ConsentDocument, ConsentRecord, Role, User
    from zhipei.core.tests.factories import InstitutionFactory, make_trainee
    from zhipei.faces.models import FaceTemplate
    from zhipei.faces.services import face_enrol

    institution = InstitutionFactory()
    admin = User.objects.create_user(
        "bench_admin",
        "Bench-Pass-2026",
        name="管理员",
        role=Role.INSTITUTION_ADMIN,
        institution=institution,
    )
    trainee = make_trainee(institution, name="张三")
    ConsentRecord.objects.create(
        user=trainee,
        document=ConsentDocument.objects.get(kind="biometric"),
        action=ConsentRecord.Action.ACCEPT,
    )
    face_enrol(
        trainee=trainee.trainee_profile,
        institution=institution,
        frames=[reference],
        source=FaceTemplate.Source.ADMIN_UPLOAD,
        by=admin,
    )
    return trainee.trainee_profile, institution


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def speed(runs: int) -> dict[str, float]:
    import dlib

    from zhipei.faces.services import face_verify
    from zhipei.lib import face as fe

    frames_all = fe.mjpeg_frames(TESTDATA / "webcam" / "obama-live.mjpeg")
    reference = (TESTDATA / "faces" / "obama_1.jpg").read_bytes()
    profile, institution = enrol_trainee(reference)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(fe._model_path("shape_predictor_5_face_landmarks.dat"))
    recogniser = dlib.face_recognition_model_v1(
        fe._model_path("dlib_face_recognition_resnet_model_v1.dat")
    )
    decoded_all = [fe.decode_image(f) for f in frames_all]
    assert decoded_all[0].shape[:2] == (480, 640)

    def raw(images) -> None:
        for image in images:
            for rect in detector(image, 0):
                recogniser.compute_face_descriptor(image, predictor(image, rect))

    platform_times, raw_times, decisions = [], [], set()
    for run in range(runs + 2):  # two warm-up rounds
        start = (run * 3) % (len(frames_all) - 10)
        burst = frames_all[start : start + 10 : 2]
        images = decoded_all[start : start + 10 : 2]
        t0 = time.perf_counter()
        attempt = face_verify(
            trainee=profile, institution=institution, frames=burst, purpose="login"
        )
        t1 = time.perf_counter()
        raw(images)
        t2 = time.perf_counter()
        if run >= 2:
            platform_times.append(t1 - t0)
            raw_times.append(t2 - t1)
            decisions.add(attempt.decision)
    assert decisions == {"MATCH"}, decisions
    return {
        "face_verify_p50_ms": p50_ms(platform_times),
        "raw_dlib_p50_ms": p50_ms(raw_times),
        "face_verify_overhead_ratio": statistics.median(platform_times)
        / statistics.median(raw_times),
        "burst_frames": 5,
    }


def accuracy(faces_dir: Path) -> dict[str, float]:
    import numpy as np
    from django.conf import settings

    from zhipei.lib import face as fe

    # Every image with exactly one face is paired, whatever its size or quality.
    engine = fe.FaceEngine(min_face_px=1, min_sharpness=0, min_brightness=0)
    people: list[tuple[str, np.ndarray]] = []
    for path in sorted(faces_dir.iterdir()):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png") or "_" not in path.stem:
            continue
        observation = engine.analyse(fe.decode_image(path.read_bytes()), descriptor=True)
        if observation.descriptor is not None:
            people.append((path.stem.split("_")[0], observation.descriptor))
    threshold = settings.FACE_MATCH_THRESHOLD
    genuine = impostor = false_accept = false_reject = 0
    for (pa, da), (pb, db) in itertools.combinations(people, 2):
        accepted = fe.distance(da, db) <= threshold
        if pa == pb:
            genuine += 1
            false_reject += not accepted
        else:
            impostor += 1
            false_accept += accepted
    return {
        "face_threshold": threshold,
        "face_images": len(people),
        "face_pairs": genuine + impostor,
        "face_genuine_pairs": genuine,
        "face_impostor_pairs": impostor,
        "face_far": false_accept / impostor if impostor else 0.0,
        "face_frr": false_reject / genuine if genuine else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, default=TESTDATA / "faces")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir)
        results = {**speed(args.runs), **accuracy(args.faces)}
    for key, value in results.items():
        print(f"{key}={value:.4f}" if isinstance(value, float) else f"{key}={value}")


if __name__ == "__main__":
    main()
