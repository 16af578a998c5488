"""Field encryption and blind-index cost: the national algorithms (SM4-GCM, HMAC-SM3) beside
AES-256-GCM and HMAC-SHA256, measured side by side on the same values in one run.

Run: .venv/bin/python bench/crypto.py [--n 20000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zhipei.lib.crypto import BlindIndex, FieldCipher  # noqa: E402


def per_op_us(fn, values) -> float:
    start = time.perf_counter()
    for v in values:
        fn(v)
    return (time.perf_counter() - start) / len(values) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    values = [f"3311021990{i % 10000:04d}{i % 9}X" for i in range(n)]
    keyring = {"k1": os.urandom(32)}
    results = {}
    for alg in ("sm4-gcm", "aes-gcm"):
        cipher = FieldCipher(keyring, algorithm=alg)
        tokens = [cipher.encrypt(v, context="bench") for v in values]
        name = alg.split("-")[0]
        results[f"{name}_encrypt_us"] = per_op_us(
            lambda v, c=cipher: c.encrypt(v, context="bench"), values
        )
        results[f"{name}_decrypt_us"] = per_op_us(
            lambda t, c=cipher: c.decrypt(t, context="bench"), tokens
        )
    for h in ("sm3", "sha256"):
        index = BlindIndex(os.urandom(32), hash=h)
        results[f"blind_index_{h}_us"] = per_op_us(
            lambda v, i=index: i.compute(v, context="id_number"), values
        )
    for key, value in results.items():
        print(f"{key}={value:.2f}")
    print(f"sm4_to_aes_decrypt_ratio={results['sm4_decrypt_us'] / results['aes_decrypt_us']:.2f}")
    print(
        f"sm3_to_sha256_index_ratio={results['blind_index_sm3_us'] / results['blind_index_sha256_us']:.2f}"
    )


if __name__ == "__main__":
    main()
